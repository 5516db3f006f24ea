import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class HealthCheckDetailDto {
  @ApiProperty({ enum: ['up', 'down', 'degraded'], enumName: 'HealthCheckStatus' })
  status: 'up' | 'down' | 'degraded';

  @ApiPropertyOptional()
  message?: string;
}

export class HealthResultDto {
  @ApiProperty({ enum: ['ok', 'degraded', 'error', 'shutting_down'], enumName: 'HealthStatus' })
  status: 'ok' | 'degraded' | 'error' | 'shutting_down';

  @ApiPropertyOptional({ type: 'object', additionalProperties: { $ref: '#/components/schemas/HealthCheckDetailDto' } })
  info?: Record<string, HealthCheckDetailDto>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { $ref: '#/components/schemas/HealthCheckDetailDto' } })
  error?: Record<string, HealthCheckDetailDto>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { $ref: '#/components/schemas/HealthCheckDetailDto' } })
  details?: Record<string, HealthCheckDetailDto>;
}

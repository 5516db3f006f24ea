import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ErrorDetailDto {
  @ApiProperty({ example: 'name' })
  field: string;

  @ApiProperty({ example: 'must match ^[a-z0-9][a-z0-9._-]{0,63}$' })
  problem: string;
}

export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request' })
  error: string;

  @ApiProperty({ example: 'name must match ^[a-z0-9][a-z0-9._-]{0,63}$' })
  message: string;

  @ApiProperty({ example: '3f1c2a9e-8d7b-4b3c-9a51-0c2d4e6f8a10' })
  requestId: string;

  @ApiPropertyOptional({ type: [ErrorDetailDto] })
  details?: ErrorDetailDto[];
}

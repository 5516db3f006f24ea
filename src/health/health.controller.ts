import { Public } from '../auth/access.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import { Controller, Get, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthCheckDetailDto, HealthResultDto } from './health.dto';
import { HealthService } from './health.service';

/** The only 4xx a probe can get: a request the HTTP layer refuses (no Host header, broken framing). */
const MALFORMED_REQUEST = {
  type: ErrorResponseDto,
  description: 'Malformed HTTP request (no Host header, broken framing)',
};

@ApiTags('health')
@ApiExtraModels(HealthCheckDetailDto)
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: the process can serve (checks no dependency)' })
  @ApiOkResponse({ type: HealthResultDto })
  @ApiBadRequestResponse(MALFORMED_REQUEST)
  live(): HealthResultDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ operationId: 'getReadiness', summary: 'Readiness: database and engine usable, not shutting down' })
  @ApiOkResponse({ type: HealthResultDto })
  @ApiServiceUnavailableResponse({ type: HealthResultDto, description: 'A check failed, or shutdown has begun' })
  @ApiBadRequestResponse(MALFORMED_REQUEST)
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthResultDto> {
    const result = await this.health.readiness();
    // degraded (the cache is down, say) still serves: only failing checks take traffic away.
    res.status(result.status === 'ok' || result.status === 'degraded' ? 200 : 503);
    res.setHeader('Cache-Control', 'no-store');
    return result;
  }
}

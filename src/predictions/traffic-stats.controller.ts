import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import { ApiErrors } from '../common/api-errors.decorator';
import { ModelNamePipe } from '../models/pipes';
import { TrafficStatsDto, TrafficStatsQueryDto } from './dto/traffic-stats.dto';
import { TrafficStatsService } from './traffic-stats.service';

@ApiTags('models')
@Controller('api/v1/models/:name/traffic/stats')
export class TrafficStatsController {
  constructor(private readonly stats: TrafficStatsService) {}

  @Get()
  // Operational numbers, like the cache stats: for those who run the model, not for its clients.
  @Access('maintainer', 'viewer')
  @ApiOperation({
    operationId: 'getModelTrafficStats',
    summary: 'Per version: requests, errors and latency; per shadow: mirrored, dropped, errors and agreement',
    description:
      'Computed from per-minute rollups that every replica adds its counts into, so it covers every replica and ' +
      "every request (whatever PREDICTION_LOG_SAMPLE_RATE), and sees another replica's requests once it flushed " +
      'them (PREDICTION_LOG_FLUSH_MS). The window is whole minutes: from the start of the minute `minutes` (1 to ' +
      '1440, default 60) minutes ago, given as `since`, to now. `versions`: every version that answered requests ' +
      'of the model in the window, pinned or picked by the traffic policy. Latency percentiles are nearest-rank ' +
      'over every answered request of the window, from log-spaced histograms: within 4.9% of the exact value ' +
      "from 0.05 ms to 120 s, within 0.05 ms below. `shadows`: the traffic policy's shadow runs (see PUT " +
      '.../traffic), with the share whose outputs agreed with the served ones. No payloads.',
  })
  @ApiOkResponse({ type: TrafficStatsDto })
  @ApiErrors(400, 404)
  get(
    @Param('name', ModelNamePipe) name: string,
    @Query() query: TrafficStatsQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<TrafficStatsDto> {
    return this.stats.stats(name, query.minutes, caller);
  }
}

import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import { ApiErrors } from '../common/api-errors.decorator';
import { TrafficSeriesDto, TrafficStatsQueryDto } from './dto/traffic-stats.dto';
import { TrafficStatsService } from './traffic-stats.service';

@ApiTags('metrics')
@Controller('api/v1/stats/traffic')
export class TrafficSeriesController {
  constructor(private readonly stats: TrafficStatsService) {}

  @Get()
  // The same numbers as the per-model traffic stats, summed: the same roles may read them.
  @Access('maintainer', 'viewer')
  @ApiOperation({
    operationId: 'getTrafficSeries',
    summary: 'Served requests, errors and latency p50/p99 per minute, over every model the caller may see',
    description:
      'The history behind the dashboard Overview charts, from the same per-minute rollups as GET ' +
      '/api/v1/models/{name}/traffic/stats (every replica once it flushed, PREDICTION_LOG_FLUSH_MS; every request ' +
      'whatever PREDICTION_LOG_SAMPLE_RATE). Served traffic only: shadow runs are left out. A key scoped to ' +
      'model-name patterns sees the traffic of the models in its scope only. The window is whole minutes: from the ' +
      'start of the minute `minutes` (1 to 1440, default 60) minutes ago, given as `since`, to the current minute, ' +
      'one `series` entry each (zeros when there was no traffic). Latency percentiles are nearest-rank from ' +
      'log-spaced histograms: within 4.9% of the exact value from 0.05 ms to 120 s.',
  })
  @ApiOkResponse({ type: TrafficSeriesDto })
  @ApiErrors(400)
  get(@Query() query: TrafficStatsQueryDto, @CurrentCaller() caller: Caller): Promise<TrafficSeriesDto> {
    return this.stats.series(query.minutes, caller);
  }
}

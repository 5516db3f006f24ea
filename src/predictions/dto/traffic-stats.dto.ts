import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QueryInt } from '../../common/strict-int';

export const MAX_STATS_MINUTES = 1440;
export const DEFAULT_STATS_MINUTES = 60;

export class TrafficStatsQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_STATS_MINUTES,
    default: DEFAULT_STATS_MINUTES,
    description: 'The window: the last this many minutes (decimal digits only)',
  })
  @QueryInt(1, MAX_STATS_MINUTES)
  minutes = DEFAULT_STATS_MINUTES;
}

const PERCENTILE =
  'Milliseconds, nearest-rank, from a histogram with log-spaced buckets (ratio 1.1): within 4.9% of the exact ' +
  'value from 0.05 ms to 120 s, within 0.05 ms below 0.05 ms, never outside the smallest and largest latency seen';

/** Latency percentiles of a window (see latency-histogram.ts for the error bound). */
export class LatencyPercentilesDto {
  @ApiProperty({ description: PERCENTILE })
  p50: number;

  @ApiProperty({ description: PERCENTILE })
  p95: number;

  @ApiProperty({ description: PERCENTILE })
  p99: number;

  @ApiProperty({
    type: 'integer',
    description: 'Answered requests the percentiles were computed from: all of the window',
  })
  sample: number;
}

export class ServedVersionStatsDto {
  @ApiProperty({ type: 'integer' })
  version: number;

  @ApiProperty({
    type: 'integer',
    description: 'Requests this version answered or failed (every request, logged or not)',
  })
  requests: number;

  @ApiProperty({ type: 'integer', description: 'Of those, the ones that failed (any status but ok)' })
  errors: number;

  @ApiProperty({
    type: LatencyPercentilesDto,
    nullable: true,
    description: 'Time in the service of answered requests; null when none was answered',
  })
  latencyMs: LatencyPercentilesDto | null;
}

export class RelDiffStatsDto {
  @ApiProperty()
  mean: number;

  @ApiProperty()
  max: number;
}

export class ShadowVersionStatsDto {
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'The shadow version; null for runs that could not resolve it',
  })
  version: number | null;

  @ApiProperty({ type: 'integer', description: 'Requests mirrored to it that ran (answered or failed)' })
  mirrored: number;

  @ApiProperty({ type: 'integer', description: 'Mirrors dropped because SHADOW_MAX_IN_FLIGHT runs were in flight' })
  dropped: number;

  @ApiProperty({ type: 'integer', description: 'Shadow runs that failed (the served response was not affected)' })
  errors: number;

  @ApiProperty({ type: 'integer', description: 'Shadow runs whose outputs were compared with the served ones' })
  compared: number;

  @ApiProperty({
    type: 'number',
    nullable: true,
    minimum: 0,
    maximum: 1,
    description:
      'Share of the compared runs that agree: same argmax per row for classifier-shaped outputs (floats, last ' +
      'dimension > 1), else max relative difference within `tolerance`; null when none was compared',
  })
  agreement: number | null;

  @ApiProperty({ type: RelDiffStatsDto, nullable: true, description: 'Over the compared runs with numeric outputs' })
  maxRelDiff: RelDiffStatsDto | null;

  @ApiProperty({ type: LatencyPercentilesDto, nullable: true, description: 'Time each shadow run took' })
  latencyMs: LatencyPercentilesDto | null;
}

export class TrafficStatsDto {
  @ApiProperty()
  model: string;

  @ApiProperty({ type: 'integer' })
  minutes: number;

  @ApiProperty({ format: 'date-time', description: 'The window start' })
  since: string;

  @ApiProperty({ description: 'The relative difference at which a non-classifier output still agrees' })
  tolerance: number;

  @ApiProperty({ type: [ServedVersionStatsDto], description: 'Every version that served in the window, by version' })
  versions: ServedVersionStatsDto[];

  @ApiProperty({ type: [ShadowVersionStatsDto], description: 'Every version that shadowed in the window, by version' })
  shadows: ShadowVersionStatsDto[];
}

export class TrafficMinuteDto {
  @ApiProperty({ format: 'date-time', description: 'The start of the minute (UTC)' })
  minute: string;

  @ApiProperty({ type: 'integer', description: 'Served requests of the minute, answered or failed' })
  requests: number;

  @ApiProperty({ type: 'integer', description: 'Of those, the ones that failed (any status but ok)' })
  errors: number;

  @ApiProperty({ type: 'number', nullable: true, description: `${PERCENTILE}; null when none was answered` })
  p50: number | null;

  @ApiProperty({ type: 'number', nullable: true, description: `${PERCENTILE}; null when none was answered` })
  p99: number | null;
}

export class TrafficTotalsDto {
  @ApiProperty({ type: 'integer' })
  requests: number;

  @ApiProperty({ type: 'integer' })
  errors: number;

  @ApiProperty({
    type: LatencyPercentilesDto,
    nullable: true,
    description: 'Over every answered request of the window; null when none was answered',
  })
  latencyMs: LatencyPercentilesDto | null;
}

export class TrafficSeriesDto {
  @ApiProperty({ type: 'integer' })
  minutes: number;

  @ApiProperty({ format: 'date-time', description: 'The window start: the first minute of `series`' })
  since: string;

  @ApiProperty({
    type: [TrafficMinuteDto],
    description:
      'Every minute from `since` to the current (partial) one, oldest first, minutes without traffic included ' +
      'with zeros: `minutes` + 1 entries',
  })
  series: TrafficMinuteDto[];

  @ApiProperty({ type: TrafficTotalsDto, description: 'The whole window' })
  totals: TrafficTotalsDto;
}

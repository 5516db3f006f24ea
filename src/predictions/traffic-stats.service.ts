import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { ServableVersionsService } from '../models/servable-versions.service';
import { ShadowVersionStatsDto, TrafficStatsDto } from './dto/traffic-stats.dto';
import { AGREEMENT_TOLERANCE } from './shadow-agreement';
import { emptyRollup, mergeRollup, MINUTE_MS, minuteOf, type TrafficRollup } from './traffic-rollup';
import { TrafficRollupService } from './traffic-rollup.service';

/**
 * GET /api/v1/models/{name}/traffic/stats, from the per-minute traffic rollups (see
 * TrafficRollupService): every served and shadow request of every replica is counted, whatever
 * PREDICTION_LOG_SAMPLE_RATE, once its replica flushed its minutes (PREDICTION_LOG_FLUSH_MS); this
 * replica's unflushed minutes are added from memory. The window is whole minutes: from the start of
 * the minute `minutes` minutes ago to now, so it covers at least the last `minutes` minutes and at
 * most one more. Per call: one read of at most (minutes + 1) × (versions and shadow versions) rows
 * on the primary key's (model, minute) prefix, merged here; latency percentiles come from the merged
 * histograms (within 4.9 %, see latency-histogram.ts).
 */
@Injectable()
export class TrafficStatsService {
  constructor(
    private readonly rollups: TrafficRollupService,
    private readonly versions: ServableVersionsService,
  ) {}

  async stats(name: string, minutes: number, caller: Caller): Promise<TrafficStatsDto> {
    assertModelInScope(caller, name);
    await this.versions.readyVersions(name); // 404 for an unknown model
    const first = minuteOf(Date.now()) - minutes;
    const merged = new Map<string, TrafficRollup>();
    for (const rollup of await this.rollups.window(name, first)) {
      const key = `${rollup.role}:${rollup.version}`;
      let into = merged.get(key);
      if (!into) merged.set(key, (into = emptyRollup(rollup)));
      mergeRollup(into, rollup);
    }
    const result: TrafficStatsDto = {
      model: name,
      minutes,
      since: new Date(first * MINUTE_MS).toISOString(),
      tolerance: AGREEMENT_TOLERANCE,
      versions: [],
      shadows: [],
    };
    for (const group of merged.values()) {
      if (group.role === 'shadow') {
        result.shadows.push(shadowStats(group));
      } else if (group.version !== null) {
        result.versions.push({
          version: group.version,
          requests: group.requests,
          errors: group.errors,
          latencyMs: group.latency.percentiles(),
        });
      }
    }
    const byVersion = (a: { version: number | null }, b: { version: number | null }) =>
      (a.version ?? 0) - (b.version ?? 0);
    result.versions.sort(byVersion);
    result.shadows.sort(byVersion);
    return result;
  }
}

function shadowStats(group: TrafficRollup): ShadowVersionStatsDto {
  return {
    version: group.version,
    mirrored: group.requests - group.dropped,
    dropped: group.dropped,
    errors: group.errors,
    compared: group.compared,
    agreement: group.compared > 0 ? group.agreed / group.compared : null,
    maxRelDiff: group.diffs > 0 ? { mean: group.diffSum / group.diffs, max: group.diffMax ?? 0 } : null,
    latencyMs: group.latency.percentiles(),
  };
}

import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { assertModelInScope, modelVisibleTo } from '../auth/model-scope';
import { ServableVersionsService } from '../models/servable-versions.service';
import { ShadowVersionStatsDto, TrafficSeriesDto, TrafficStatsDto } from './dto/traffic-stats.dto';
import { LatencyHistogram } from './latency-histogram';
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

  /**
   * GET /api/v1/stats/traffic: the served traffic of every model the caller may see, per minute,
   * for the dashboard's charts. Same window and sources as stats(); shadow runs are left out (they
   * are not traffic clients sent). Per call: one read of at most (minutes + 1) × (model, served
   * version) pairs rows on the minute index, and minutes + 1 histograms of at most 157 buckets.
   */
  async series(minutes: number, caller: Caller): Promise<TrafficSeriesDto> {
    const first = minuteOf(Date.now()) - minutes;
    const perMinute = Array.from({ length: minutes + 1 }, (_, i) =>
      emptyRollup({ model: '', version: null, role: 'served', minute: first + i }),
    );
    const total = new LatencyHistogram();
    let requests = 0;
    let errors = 0;
    for (const rollup of await this.rollups.window(undefined, first, 'served')) {
      const into = perMinute[rollup.minute - first];
      // A minute begun after `first` was computed (the read crossed a minute) is left to the next call.
      if (!into || !modelVisibleTo(caller, rollup.model)) continue;
      mergeRollup(into, rollup);
      total.merge(rollup.latency);
      requests += rollup.requests;
      errors += rollup.errors;
    }
    return {
      minutes,
      since: new Date(first * MINUTE_MS).toISOString(),
      series: perMinute.map((m) => {
        const latency = m.latency.percentiles();
        return {
          minute: new Date(m.minute * MINUTE_MS).toISOString(),
          requests: m.requests,
          errors: m.errors,
          p50: latency?.p50 ?? null,
          p99: latency?.p99 ?? null,
        };
      }),
      totals: { requests, errors, latencyMs: total.percentiles() },
    };
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

import type { PredictionRole } from './entities/prediction.entity';
import { LatencyHistogram } from './latency-histogram';

/**
 * One minute of one (model, version, role): the counts GET .../traffic/stats reports, summed over
 * requests. Kept in memory per replica, then added into the `traffic_rollups` row of the same key.
 */
export interface TrafficRollup {
  model: string;
  /** Null for a shadow run that could not resolve its version. */
  version: number | null;
  role: PredictionRole;
  /** Minutes since the Unix epoch (UTC) of the requests counted. */
  minute: number;
  requests: number;
  /** Failed, any status but ok and dropped. */
  errors: number;
  dropped: number;
  compared: number;
  agreed: number;
  /** Runs with a max relative difference, their sum and maximum (null when none). */
  diffs: number;
  diffSum: number;
  diffMax: number | null;
  /** Latencies of answered (ok) requests. */
  latency: LatencyHistogram;
}

/** What one logged request contributes (the fields of a prediction log row that the stats read). */
export interface RollupObservation {
  model: string;
  version: number | null;
  role: PredictionRole;
  status: string;
  latencyMs: number;
  agrees: boolean | null;
  maxRelDiff: number | null;
  at: Date;
}

export const MINUTE_MS = 60_000;

export function minuteOf(date: Date | number): number {
  return Math.floor(Number(date) / MINUTE_MS);
}

export function rollupKey(r: Pick<TrafficRollup, 'model' | 'version' | 'role' | 'minute'>): string {
  return `${r.model}\u0000${r.version ?? ''}\u0000${r.role}\u0000${r.minute}`;
}

export function emptyRollup(key: Pick<TrafficRollup, 'model' | 'version' | 'role' | 'minute'>): TrafficRollup {
  return {
    model: key.model,
    version: key.version,
    role: key.role,
    minute: key.minute,
    requests: 0,
    errors: 0,
    dropped: 0,
    compared: 0,
    agreed: 0,
    diffs: 0,
    diffSum: 0,
    diffMax: null,
    latency: new LatencyHistogram(),
  };
}

/** Counts one request into its minute's rollup. */
export function observe(rollup: TrafficRollup, o: RollupObservation): void {
  rollup.requests++;
  if (o.status === 'dropped') rollup.dropped++;
  else if (o.status !== 'ok') rollup.errors++;
  else rollup.latency.add(o.latencyMs);
  if (o.agrees !== null) {
    rollup.compared++;
    if (o.agrees) rollup.agreed++;
  }
  if (o.maxRelDiff !== null && Number.isFinite(o.maxRelDiff)) {
    rollup.diffs++;
    rollup.diffSum += o.maxRelDiff;
    rollup.diffMax = rollup.diffMax === null ? o.maxRelDiff : Math.max(rollup.diffMax, o.maxRelDiff);
  }
}

/** Adds `from` into `into` (same key or not: the stats merge a version's minutes this way). */
export function mergeRollup(into: TrafficRollup, from: TrafficRollup): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.dropped += from.dropped;
  into.compared += from.compared;
  into.agreed += from.agreed;
  into.diffs += from.diffs;
  into.diffSum += from.diffSum;
  if (from.diffMax !== null) into.diffMax = into.diffMax === null ? from.diffMax : Math.max(into.diffMax, from.diffMax);
  into.latency.merge(from.latency);
}

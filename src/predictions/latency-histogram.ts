import type { LatencyPercentilesDto } from './dto/traffic-stats.dto';

/**
 * Latency histograms with fixed log-spaced buckets, so that histograms from any replica and any
 * minute merge by adding counts, and percentiles of a day of traffic cost a fixed amount of memory.
 *
 * Bucket 0 holds [0, LOWEST_MS); bucket i (1..) holds [LOWEST_MS·RATIO^(i-1), LOWEST_MS·RATIO^i);
 * the last bucket holds everything from HIGHEST_MS up. A percentile is the bucket's geometric
 * middle, clamped to the exact min and max seen, so for the nearest-rank value v:
 * - v in [LOWEST_MS, HIGHEST_MS): |estimate − v| ≤ (√RATIO − 1)·v, i.e. within 4.9 %;
 * - v below LOWEST_MS: |estimate − v| < LOWEST_MS (0.05 ms);
 * - v from HIGHEST_MS up: the estimate is between HIGHEST_MS and the largest latency seen.
 * Rounding the answer to a microsecond adds at most 0.0005 ms. (latency-histogram.spec.ts checks
 * the bound against exact nearest-rank percentiles of random data.)
 */
export const LOWEST_MS = 0.05;
export const HIGHEST_MS = 120_000;
export const RATIO = 1.1;
export const RELATIVE_ERROR = Math.sqrt(RATIO) - 1;

/** Upper bounds of the buckets below the last: BOUNDS[i] is the exclusive upper end of bucket i. */
const BOUNDS: number[] = [LOWEST_MS];
while (BOUNDS[BOUNDS.length - 1] < HIGHEST_MS) BOUNDS.push(LOWEST_MS * RATIO ** BOUNDS.length);
/** 157 buckets: below 0.05 ms, 155 log-spaced ones, and 120 s and over. */
export const BUCKET_COUNT = BOUNDS.length + 1;

/** The bucket of a latency (binary search over the bounds, so a value is never one bucket off). */
export function bucketOf(ms: number): number {
  if (!(ms >= 0)) return 0; // NaN or negative: not a latency the service measures; kept out of the tail
  let lo = 0;
  let hi = BOUNDS.length; // answer in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ms < BOUNDS[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** What a bucket reports before clamping: its geometric middle (half of LOWEST_MS for the first). */
function middleOf(bucket: number): number {
  if (bucket === 0) return LOWEST_MS / 2;
  if (bucket >= BOUNDS.length) return BOUNDS[BOUNDS.length - 1];
  return Math.sqrt(BOUNDS[bucket - 1] * BOUNDS[bucket]);
}

/** Counts per bucket (only non-empty ones) with the exact extremes; merges by addition. */
export class LatencyHistogram {
  readonly counts = new Map<number, number>();
  total = 0;
  min = Infinity;
  max = -Infinity;

  add(ms: number): void {
    const bucket = bucketOf(ms);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  merge(other: LatencyHistogram): void {
    for (const [bucket, count] of other.counts) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
    this.total += other.total;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** Nearest-rank p50/p95/p99 (see the error bound above); null when empty. */
  percentiles(): LatencyPercentilesDto | null {
    if (this.total === 0) return null;
    const buckets = [...this.counts.keys()].sort((a, b) => a - b);
    const at = (p: number) => {
      const rank = Math.min(this.total, Math.max(1, Math.ceil((p / 100) * this.total)));
      let seen = 0;
      for (const bucket of buckets) {
        seen += this.counts.get(bucket) ?? 0;
        if (seen >= rank) {
          const estimate = Math.min(this.max, Math.max(this.min, middleOf(bucket)));
          return Math.round(estimate * 1000) / 1000;
        }
      }
      return Math.round(this.max * 1000) / 1000;
    };
    return { p50: at(50), p95: at(95), p99: at(99), sample: this.total };
  }

  /** The stored form: sparse `{bucket: count}` as JSON text (at most BUCKET_COUNT entries). */
  bucketsJson(): string {
    return JSON.stringify(Object.fromEntries(this.counts));
  }

  /** A histogram from its stored parts; entries that are not a bucket and a positive count are ignored. */
  static fromStored(json: string | null, min: number | null, max: number | null): LatencyHistogram {
    const histogram = new LatencyHistogram();
    const parsed = json ? (JSON.parse(json) as Record<string, unknown>) : {};
    for (const [key, value] of Object.entries(parsed)) {
      const bucket = Number(key);
      const count = Number(value);
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKET_COUNT) continue;
      if (!Number.isSafeInteger(count) || count <= 0) continue;
      histogram.counts.set(bucket, count);
      histogram.total += count;
    }
    if (histogram.total > 0) {
      histogram.min = min ?? 0;
      histogram.max = max ?? HIGHEST_MS;
    }
    return histogram;
  }
}

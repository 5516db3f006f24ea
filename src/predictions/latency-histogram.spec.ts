import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../test/support/prng';
import { BUCKET_COUNT, bucketOf, HIGHEST_MS, LatencyHistogram, LOWEST_MS, RELATIVE_ERROR } from './latency-histogram';

/** Exact nearest-rank percentile of a sample, as the stats computed it from every row before. */
function nearestRank(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The documented bound for an exact value v, plus the rounding to a microsecond. */
function allowed(v: number): number {
  const rounding = 0.0005 + 1e-9;
  if (v < LOWEST_MS) return LOWEST_MS + rounding;
  return RELATIVE_ERROR * v + rounding;
}

/** Latencies spread over seven decades, log-uniform, with a share below LOWEST_MS and some exact repeats. */
function latencies(random: () => number, count: number): number[] {
  return Array.from({ length: count }, () => {
    const r = random();
    if (r < 0.05) return random() * LOWEST_MS;
    if (r < 0.1) return 12.5;
    return LOWEST_MS * (HIGHEST_MS / LOWEST_MS) ** random();
  });
}

function histogramOf(values: number[]): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const value of values) histogram.add(value);
  return histogram;
}

describe('latency histogram', () => {
  it('has 157 buckets: values map into bounds, never one off at a bucket edge', () => {
    assert.equal(BUCKET_COUNT, 157);
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(LOWEST_MS * 0.999), 0);
    assert.equal(bucketOf(LOWEST_MS), 1);
    assert.equal(bucketOf(1e9), BUCKET_COUNT - 1);
    assert.equal(bucketOf(Number.NaN), 0);
    assert.equal(bucketOf(-3), 0);
    for (let b = 1; b < BUCKET_COUNT - 1; b++) {
      const lower = LOWEST_MS * 1.1 ** (b - 1);
      assert.equal(bucketOf(lower * (1 + 1e-12)), b, `just above the lower edge of bucket ${b}`);
      assert.ok(bucketOf(lower * (1 - 1e-12)) <= b);
    }
  });

  for (const seed of [1, 2, 3, 42, 2026]) {
    it(`percentiles are within the documented bound of exact nearest-rank (seed ${seed})`, () => {
      const random = prng(seed);
      for (const count of [1, 2, 7, 100, 5_000]) {
        const values = latencies(random, count);
        const sorted = Float64Array.from(values).sort();
        const got = histogramOf(values).percentiles();
        assert.ok(got);
        assert.equal(got.sample, count);
        for (const p of [50, 95, 99] as const) {
          const exact = nearestRank(sorted, p);
          const estimate = got[`p${p}`];
          assert.ok(
            Math.abs(estimate - exact) <= allowed(exact),
            `seed ${seed}, n=${count}, p${p}: ${estimate} vs exact ${exact}`,
          );
        }
      }
    });
  }

  it('a single value and all-equal values come back exactly (clamped to the extremes seen)', () => {
    assert.deepEqual(histogramOf([3.217]).percentiles(), { p50: 3.217, p95: 3.217, p99: 3.217, sample: 1 });
    assert.deepEqual(histogramOf([0.01, 0.01]).percentiles(), { p50: 0.01, p95: 0.01, p99: 0.01, sample: 2 });
    assert.equal(new LatencyHistogram().percentiles(), null);
  });

  it('merging histograms equals one histogram of all the values; the stored form round-trips', () => {
    const random = prng(7);
    const parts = [latencies(random, 300), latencies(random, 1), latencies(random, 1200)];
    const merged = new LatencyHistogram();
    for (const part of parts) {
      const stored = histogramOf(part);
      merged.merge(LatencyHistogram.fromStored(stored.bucketsJson(), stored.min, stored.max));
    }
    const whole = histogramOf(parts.flat());
    assert.deepEqual(merged.percentiles(), whole.percentiles());
    assert.deepEqual([...merged.counts].sort(), [...whole.counts].sort());
    assert.equal(merged.min, whole.min);
    assert.equal(merged.max, whole.max);
    assert.ok(JSON.parse(whole.bucketsJson()) && Object.keys(JSON.parse(whole.bucketsJson())).length <= BUCKET_COUNT);
  });

  it('a stored form ignores entries that are not a bucket with a positive count', () => {
    const histogram = LatencyHistogram.fromStored('{"3": 2, "999": 5, "-1": 1, "x": 1, "4": 0, "5": 1.5}', 0.1, 0.2);
    assert.deepEqual([...histogram.counts], [[3, 2]]);
    assert.equal(histogram.total, 2);
    assert.equal(LatencyHistogram.fromStored('{}', null, null).percentiles(), null);
  });
});

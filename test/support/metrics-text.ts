/**
 * Reading the Prometheus text exposition of /metrics in tests and the benchmark: one series'
 * value, a histogram's cumulative buckets, and a quantile of what a histogram recorded between
 * two scrapes (as Prometheus' histogram_quantile over an increase).
 */

type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

const LABEL = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line of the text (comments and blank lines skipped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, brace >= 0 && brace < space ? brace : space);
    const labels: Labels = {};
    if (brace >= 0 && brace < space) {
      for (const [, key, value] of line.slice(brace, line.lastIndexOf('}') + 1).matchAll(LABEL)) labels[key] = value;
    }
    samples.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  return samples;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The value of the series with exactly these labels (in any order), or undefined when absent. */
export function sampleValue(text: string, name: string, labels: Labels = {}): number | undefined {
  return parseSamples(text).find((s) => s.name === name && sameLabels(s.labels, labels))?.value;
}

/** Cumulative bucket counts of one histogram series, by upper bound (Infinity for +Inf), ascending. */
export function histogramBuckets(text: string, name: string, labels: Labels = {}): Map<number, number> {
  const buckets: [number, number][] = [];
  for (const sample of parseSamples(text)) {
    if (sample.name !== `${name}_bucket`) continue;
    const { le, ...rest } = sample.labels;
    if (le === undefined || !sameLabels(rest, labels)) continue;
    buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value]);
  }
  return new Map(buckets.sort(([a], [b]) => a - b));
}

/** Observations between two scrapes of the same histogram, per bucket (still cumulative). */
export function bucketIncrease(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([bound, count]) => [bound, count - (before.get(bound) ?? 0)]));
}

/**
 * The q-quantile of cumulative buckets, interpolated linearly within its bucket as
 * histogram_quantile does (the first bucket starts at 0; a rank in +Inf answers the largest
 * finite bound). NaN when the buckets are empty.
 */
export function histogramQuantile(q: number, buckets: Map<number, number>): number {
  const entries = [...buckets];
  const total = entries.at(-1)?.[1] ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of entries) {
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket === 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

import type { TensorDtype } from '../inference/tensor-spec';

/** Largest relative difference at which a non-classifier output still agrees. */
export const AGREEMENT_TOLERANCE = 1e-3;

/**
 * The relative difference recorded when values cannot be compared as numbers (one NaN or
 * infinite, a string or boolean that differs): |a - b| / max(|a|, |b|) never exceeds 2 for finite
 * numbers, so 2 is "as different as can be" without putting Infinity in the log.
 */
export const INCOMPARABLE_DIFF = 2;

/** One output, flat in row-major order, as both sides of a comparison read it. */
export interface ComparableTensor {
  dtype: TensorDtype;
  dims: readonly number[];
  values: ArrayLike<number | bigint | string | boolean>;
}

export interface Agreement {
  /** Whether every output the served request answered agrees (see compareOutputs). */
  agrees: boolean;
  /** The largest relative difference over the numeric outputs compared; null when none was. */
  maxRelDiff: number | null;
}

const FLOAT_DTYPES: ReadonlySet<TensorDtype> = new Set(['float16', 'float32', 'float64']);

/**
 * Whether an output looks like a classifier's: floats whose last dimension holds more than one
 * class (probabilities or logits, [N, K]). Such outputs agree when each row's argmax does: a
 * candidate that ranks classes the same way is accepted even if its scores moved.
 */
export function isClassifierShaped(tensor: Pick<ComparableTensor, 'dtype' | 'dims'>): boolean {
  return FLOAT_DTYPES.has(tensor.dtype) && tensor.dims.length >= 1 && (tensor.dims.at(-1) ?? 0) > 1;
}

/**
 * Compares a shadow run's outputs with the served ones, output by output (those the served
 * request answered). Classifier-shaped outputs agree when every row's argmax matches; others when
 * their largest relative difference |a - b| / max(|a|, |b|) is at most `tolerance`. An output the
 * shadow lacks, or answers with another shape, disagrees. `maxRelDiff` is reported for every
 * numeric output, classifier-shaped or not, so the stats can show how far scores moved.
 */
export function compareOutputs(
  served: ReadonlyMap<string, ComparableTensor>,
  shadow: ReadonlyMap<string, ComparableTensor>,
  tolerance = AGREEMENT_TOLERANCE,
): Agreement {
  let agrees = true;
  let maxRelDiff: number | null = null;
  for (const [name, expected] of served) {
    const actual = shadow.get(name);
    if (!actual || !sameDims(expected.dims, actual.dims) || expected.values.length !== actual.values.length) {
      agrees = false;
      continue;
    }
    const diff = maxRelativeDifference(expected.values, actual.values);
    if (diff !== null) maxRelDiff = Math.max(maxRelDiff ?? 0, diff);
    const ok = isClassifierShaped(expected)
      ? sameArgmax(expected.values as ArrayLike<number>, actual.values as ArrayLike<number>, expected.dims.at(-1) ?? 1)
      : diff === null
        ? sameValues(expected.values, actual.values)
        : diff <= tolerance;
    if (!ok) agrees = false;
  }
  return { agrees, maxRelDiff };
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Largest |a - b| / max(|a|, |b|) over numbers (bigints as numbers); null when the values are not numbers. */
export function maxRelativeDifference(
  a: ArrayLike<number | bigint | string | boolean>,
  b: ArrayLike<number | bigint | string | boolean>,
): number | null {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const x = toNumber(a[i]);
    const y = toNumber(b[i]);
    if (x === undefined || y === undefined) return null;
    max = Math.max(max, relativeDifference(x, y));
  }
  return max;
}

function toNumber(value: number | bigint | string | boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function relativeDifference(x: number, y: number): number {
  if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return 0;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return INCOMPARABLE_DIFF;
  return Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y));
}

function sameValues(a: ArrayLike<unknown>, b: ArrayLike<unknown>): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether each row of `classes` values has its largest value at the same place (first one on ties). */
function sameArgmax(a: ArrayLike<number>, b: ArrayLike<number>, classes: number): boolean {
  for (let row = 0; row + classes <= a.length; row += classes) {
    if (argmax(a, row, classes) !== argmax(b, row, classes)) return false;
  }
  return true;
}

function argmax(values: ArrayLike<number>, start: number, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (values[start + i] > values[start + best]) best = i;
  return best;
}

/**
 * The outputs of a /api/v1/predictions answer (`{"name": {dtype, shape, data}}`, data flat in
 * row-major order, see tensor-encode.ts). Undefined when the text is not of that form.
 */
export function comparableFromJson(outputsJson: string): Map<string, ComparableTensor> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(outputsJson);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const outputs = new Map<string, ComparableTensor>();
  for (const [name, tensor] of Object.entries(parsed)) {
    if (!isRecord(tensor) || !Array.isArray(tensor.shape) || !Array.isArray(tensor.data)) return undefined;
    if (typeof tensor.dtype !== 'string') return undefined;
    outputs.set(name, {
      dtype: tensor.dtype as TensorDtype,
      dims: tensor.shape as number[],
      values: tensor.data as (number | string | boolean)[],
    });
  }
  return outputs;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

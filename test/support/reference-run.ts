/**
 * Runs an ONNX model directly with onnxruntime-node in the test process and converts its outputs to
 * the JSON form of the predictions API, so e2e tests can compare what the service answers with what
 * ONNX Runtime itself computes on the same inputs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import '../../src/inference/worker/float16-words';
import * as ort from 'onnxruntime-node';

/** A scalar value as the API carries it in JSON. */
export type JsonScalar = number | string | boolean;

/** A tensor in the API's JSON form: `{dtype, shape, data: [flat, row-major]}`. */
export interface JsonTensor {
  dtype: string;
  shape: number[];
  data: JsonScalar[];
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function sessionFor(model: Uint8Array): Promise<ort.InferenceSession> {
  const key = createHash('sha256').update(model).digest('hex');
  let session = sessions.get(key);
  if (!session) {
    session = ort.InferenceSession.create(model, { executionProviders: ['cpu'], logSeverityLevel: 3 });
    sessions.set(key, session);
  }
  return session;
}

/** Releases every session the reference runs created (call from an `after` hook). */
export async function releaseReferenceSessions(): Promise<void> {
  const pending = [...sessions.values()];
  sessions.clear();
  for (const session of pending) await (await session).release();
}

/**
 * Builds an onnxruntime tensor from the API's JSON form: int64 from safe numbers or decimal strings
 * (exactly, beyond 2^53 too), bool from true/false, every other dtype from numbers or strings.
 */
export function tensorFromJson(tensor: JsonTensor): ort.Tensor {
  const { dtype, shape, data } = tensor;
  const dims = [...shape];
  switch (dtype) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(data as number[]), dims);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(data as number[]), dims);
    case 'int8':
      return new ort.Tensor('int8', Int8Array.from(data as number[]), dims);
    case 'uint8':
      return new ort.Tensor('uint8', Uint8Array.from(data as number[]), dims);
    case 'int16':
      return new ort.Tensor('int16', Int16Array.from(data as number[]), dims);
    case 'uint16':
      return new ort.Tensor('uint16', Uint16Array.from(data as number[]), dims);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(data as number[]), dims);
    case 'uint32':
      return new ort.Tensor('uint32', Uint32Array.from(data as number[]), dims);
    case 'int64':
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(data, (v) => BigInt(v as number | string)),
        dims,
      );
    case 'uint64':
      return new ort.Tensor(
        'uint64',
        BigUint64Array.from(data, (v) => BigInt(v as number | string)),
        dims,
      );
    case 'bool':
      return new ort.Tensor(
        'bool',
        Uint8Array.from(data, (v) => (v === true ? 1 : 0)),
        dims,
      );
    case 'string':
      return new ort.Tensor('string', data as string[], dims);
    default:
      throw new Error(`tensorFromJson: unsupported dtype ${dtype}`);
  }
}

/** An onnxruntime tensor in the API's JSON form: int64 beyond 2^53 as decimal strings, bool as true/false. */
export function tensorToJson(tensor: ort.Tensor): JsonTensor {
  const shape = [...tensor.dims];
  const raw = tensor.data;
  let data: JsonScalar[];
  if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    data = Array.from(raw as ArrayLike<bigint>, (v) => (v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v.toString()));
  } else if (tensor.type === 'bool') {
    data = Array.from(raw as Uint8Array, (v) => v !== 0);
  } else if (Array.isArray(raw)) {
    data = [...(raw as string[])];
  } else {
    data = Array.from(raw as ArrayLike<number>);
  }
  return { dtype: tensor.type, shape, data };
}

/**
 * Runs `model` on `inputs` (JSON form) with onnxruntime-node in this process and answers the outputs in
 * the API's JSON form, restricted to `outputs` when given.
 */
export async function referenceRun(
  model: Uint8Array,
  inputs: Record<string, JsonTensor>,
  outputs?: readonly string[],
): Promise<Record<string, JsonTensor>> {
  const session = await sessionFor(model);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(inputs)) feeds[name] = tensorFromJson(tensor);
  const results = outputs ? await session.run(feeds, [...outputs]) : await session.run(feeds);
  const answer: Record<string, JsonTensor> = {};
  for (const [name, tensor] of Object.entries(results)) answer[name] = tensorToJson(tensor);
  return answer;
}

export interface CompareOptions {
  /** Relative tolerance for float32/float64 values; 0 (the default) demands exact equality. */
  rtol?: number;
  /** Absolute floor of the float tolerance, for values near zero (default: rtol / 10). */
  atol?: number;
}

const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16']);

/** Asserts that two JSON tensors have the same dtype, shape and values (floats within tolerance). */
export function assertTensorMatches(
  actual: JsonTensor,
  expected: JsonTensor,
  label: string,
  options: CompareOptions = {},
) {
  const rtol = options.rtol ?? 0;
  const atol = options.atol ?? rtol / 10;
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  assert.ok(Array.isArray(actual.data), `${label}: data is an array`);
  assert.equal(actual.data.length, expected.data.length, `${label}: element count`);
  const isFloat = FLOAT_DTYPES.has(expected.dtype);
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (isFloat && rtol > 0) {
      assert.equal(typeof a, 'number', `${label}: element ${i} is a number`);
      const diff = Math.abs((a as number) - (e as number));
      assert.ok(
        diff <= atol + rtol * Math.abs(e as number),
        `${label}: element ${i} is ${String(a)}, expected ${String(e)} (|diff| ${diff} > ${atol} + ${rtol}·|expected|)`,
      );
    } else if (typeof e === 'number') {
      // === rather than Object.is: JSON has no -0, so a -0 from ONNX Runtime arrives as 0.
      assert.ok(a === e, `${label}: element ${i} is ${JSON.stringify(a)}, expected ${e}`);
    } else {
      assert.strictEqual(a, e, `${label}: element ${i}`);
    }
  }
}

/** Asserts that two output maps hold the same names and matching tensors. */
export function assertOutputsMatch(
  actual: Record<string, JsonTensor>,
  expected: Record<string, JsonTensor>,
  options: CompareOptions = {},
): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), 'output names');
  for (const name of Object.keys(expected)) assertTensorMatches(actual[name], expected[name], name, options);
}

/** Nests flat row-major data into arrays of the given shape (a rank-0 shape gives the bare value). */
export function nest<T>(flat: readonly T[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const [first, ...rest] = shape;
  const stride = rest.reduce((n, d) => n * d, 1);
  return Array.from({ length: first }, (_, i) => nest(flat.slice(i * stride, (i + 1) * stride), rest));
}

import type { TensorDtype } from './tensor-spec';

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** A tensor as the engine moves it between threads: flat row-major data plus its dims. */
export interface TensorData {
  dtype: TensorDtype;
  dims: number[];
  data: NumericArray | string[];
}

/**
 * A numeric or bool tensor as bytes received from a client: little-endian elements, row-major
 * (bool one byte each, float16 its 16-bit words). Usually a view of a request body, so it may sit
 * at any offset; `tensorFromRaw` (tensor-wire.ts) makes it a typed array.
 */
export interface RawTensor {
  dtype: TensorDtype;
  dims: number[];
  bytes: Uint8Array;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

interface NumericArrayClass {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
}

/** Storage class of each numeric dtype (bool is one byte; float16 is raw 16-bit words). */
const NUMERIC_ARRAYS: Record<Exclude<TensorDtype, 'string'>, NumericArrayClass> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** The typed array class that stores a numeric dtype. */
export function numericArrayClass(dtype: Exclude<TensorDtype, 'string'>): NumericArrayClass {
  return NUMERIC_ARRAYS[dtype];
}

/** A zero-filled tensor buffer of `size` elements (strings: empty strings). */
export function allocateTensorData(dtype: TensorDtype, size: number): NumericArray | string[] {
  return dtype === 'string' ? new Array<string>(size).fill('') : new NUMERIC_ARRAYS[dtype](size);
}

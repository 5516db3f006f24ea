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

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

type NumericArrayClass = new (length: number) => NumericArray;

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

/** A zero-filled tensor buffer of `size` elements (strings: empty strings). */
export function allocateTensorData(dtype: TensorDtype, size: number): NumericArray | string[] {
  return dtype === 'string' ? new Array<string>(size).fill('') : new NUMERIC_ARRAYS[dtype](size);
}

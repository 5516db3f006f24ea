import type { TensorDtype } from '../models/tensor-spec';

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

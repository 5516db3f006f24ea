import type { TensorDtype } from '../models/tensor-spec';
import type { TensorData } from './tensor';

export interface EncodedTensor {
  dtype: TensorDtype;
  shape: number[];
  data: (number | string | boolean)[];
}

/** Outputs as JSON: flat row-major data; 64-bit integers beyond 2^53 become decimal strings. */
export function encodeTensor(tensor: TensorData): EncodedTensor {
  const { dtype, dims, data } = tensor;
  let out: (number | string | boolean)[];
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    out = new Array<number | string>(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      out[i] = v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v.toString();
    }
  } else if (dtype === 'bool') {
    out = Array.from(data as Uint8Array, (v) => v !== 0);
  } else if (Array.isArray(data)) {
    out = data;
  } else {
    out = Array.from(data as Float32Array);
  }
  return { dtype, shape: dims, data: out };
}

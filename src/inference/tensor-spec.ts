/** ONNX Runtime tensor type names accepted in signatures. */
export const TENSOR_DTYPES = [
  'float32',
  'float64',
  'float16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  /** -1 marks a dynamic dimension. */
  shape: number[];
  /** Symbolic names of dynamic dimensions (null where a dimension has none or is fixed). */
  dimNames?: (string | null)[];
}

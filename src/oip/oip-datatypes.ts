import type { TensorDtype } from '../inference/tensor-spec';

/** Tensor datatypes of the Open Inference Protocol (KServe v2). */
export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type OipDatatype = (typeof OIP_DATATYPES)[number];

const TO_OIP: Record<TensorDtype, OipDatatype> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const FROM_OIP = Object.fromEntries(Object.entries(TO_OIP).map(([dtype, datatype]) => [datatype, dtype])) as Record<
  OipDatatype,
  TensorDtype
>;

/** Bytes of one element on the wire (little-endian); BYTES elements have no fixed size. */
const ELEMENT_BYTES: Record<Exclude<OipDatatype, 'BYTES'>, number> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

export function isOipDatatype(value: unknown): value is OipDatatype {
  return typeof value === 'string' && Object.hasOwn(FROM_OIP, value);
}

/** The protocol's name of an ONNX Runtime tensor type (string tensors are BYTES). */
export function oipDatatypeOf(dtype: TensorDtype): OipDatatype {
  return TO_OIP[dtype];
}

export function dtypeOfOip(datatype: OipDatatype): TensorDtype {
  return FROM_OIP[datatype];
}

/** Bytes per element on the wire, or undefined for BYTES (length-prefixed elements). */
export function elementBytes(datatype: OipDatatype): number | undefined {
  return datatype === 'BYTES' ? undefined : ELEMENT_BYTES[datatype];
}

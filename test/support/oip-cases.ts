/**
 * The models and tensors of the Open Inference Protocol conformance suites, their metadata as the
 * protocol names it, and the comparison of answers with a direct onnxruntime-node run.
 */
import assert from 'node:assert/strict';
import { dtypeOfOip } from '../../src/oip/oip-datatypes';
import type { OipTensorMetadata } from '../../src/oip/oip-types';
import type { GetAnswer, InferAnswer, OipResultTensor, OipTensor } from './oip-client';
import type { WireValue } from './oip-wire';
import {
  cnnModel,
  DataType,
  fixedShapeModel,
  float64Int32Uint8Int8Model,
  identityModel,
  int64BoolModel,
  mlpModel,
  multiIoModel,
  scalarModel,
  seededRandom,
  stringModel,
} from './onnx-models';
import { assertOutputsMatch, JsonScalar, JsonTensor, referenceRun } from './reference-run';

export interface OipCase {
  /** Registry name the model is uploaded to. */
  name: string;
  bytes: Buffer;
  /** Model metadata as GET /v2/models/{name} must answer it (without name and versions). */
  inputs: OipTensorMetadata[];
  outputs: OipTensorMetadata[];
  /** The inputs of one infer request. */
  sample: OipTensor[];
  /** Relative tolerance for models whose kernels accumulate; 0 where ONNX Runtime is exact. */
  rtol: number;
}

const FLOAT_RTOL = 1e-5;

const meta = (name: string, datatype: OipTensorMetadata['datatype'], shape: number[]): OipTensorMetadata => ({
  name,
  datatype,
  shape,
});

const fp32 = (name: string, shape: number[], data: number[]): OipTensor => ({ name, datatype: 'FP32', shape, data });

const CNN_SIZE = { height: 16, width: 32 };
const random = seededRandom(12);
const cnnImage = Array.from({ length: 3 * CNN_SIZE.height * CNN_SIZE.width }, () => Math.round(random() * 1e4) / 1e4);

/** Values FP16 holds exactly, from the largest normal number down to the smallest subnormal. */
export const FP16_VALUES = [0, 1, -2.5, 65504, -65504, 2 ** -14, 2 ** -24, 0.333251953125, -0];

export const CASES: OipCase[] = [
  {
    name: 'mlp',
    bytes: mlpModel(),
    inputs: [meta('x', 'FP32', [-1, 4])],
    outputs: [meta('y', 'FP32', [-1, 3])],
    sample: [fp32('x', [2, 4], [0.5, -1.25, 3, 0.1, -0.7, 2.2, 0, 1.9])],
    rtol: FLOAT_RTOL,
  },
  {
    name: 'multi-io',
    bytes: multiIoModel(),
    inputs: [meta('a', 'FP32', [-1, 3]), meta('b', 'FP32', [-1, 3])],
    outputs: [meta('sum', 'FP32', [-1, 3]), meta('product', 'FP32', [-1, 3]), meta('total', 'FP32', [-1])],
    sample: [fp32('a', [2, 3], [1, 2, 3, 0.25, -4, 8]), fp32('b', [2, 3], [10, 20, 30, 0.5, 0.5, -2])],
    rtol: FLOAT_RTOL,
  },
  {
    name: 'int64-bool',
    bytes: int64BoolModel(),
    inputs: [meta('ids', 'INT64', [-1, 4]), meta('mask', 'BOOL', [-1, 4])],
    outputs: [meta('masked', 'INT64', [-1, 4]), meta('count', 'INT64', [-1])],
    sample: [
      {
        name: 'ids',
        datatype: 'INT64',
        shape: [2, 4],
        data: [2n ** 53n - 1n, -(2n ** 53n - 1n), 42n, 0n, 1n, -2n, 3n, -4n],
      },
      { name: 'mask', datatype: 'BOOL', shape: [2, 4], data: [true, true, false, true, false, true, true, false] },
    ],
    rtol: 0,
  },
  {
    name: 'strings',
    bytes: stringModel(),
    inputs: [meta('s', 'BYTES', [-1])],
    outputs: [meta('s_out', 'BYTES', [-1])],
    sample: [{ name: 's', datatype: 'BYTES', shape: [5], data: ['hello', '', 'héllo wörld', '🙂 emoji', 'tab\t"q"'] }],
    rtol: 0,
  },
  {
    name: 'dtypes',
    bytes: float64Int32Uint8Int8Model(),
    inputs: [
      meta('f64', 'FP64', [-1]),
      meta('i32', 'INT32', [-1]),
      meta('u8', 'UINT8', [-1]),
      meta('i8', 'INT8', [-1]),
    ],
    outputs: [
      meta('f64_out', 'FP64', [-1]),
      meta('i32_out', 'INT32', [-1]),
      meta('u8_out', 'UINT8', [-1]),
      meta('i8_out', 'INT8', [-1]),
    ],
    sample: [
      { name: 'f64', datatype: 'FP64', shape: [4], data: [0.1, -1e300, Math.PI, 5e-324] },
      { name: 'i32', datatype: 'INT32', shape: [4], data: [-2147483648, 2147483647, 0, 7] },
      { name: 'u8', datatype: 'UINT8', shape: [4], data: [0, 255, 1, 128] },
      { name: 'i8', datatype: 'INT8', shape: [4], data: [-128, 127, 0, -1] },
    ],
    rtol: 0,
  },
  {
    name: 'scalar',
    bytes: scalarModel(),
    inputs: [meta('x', 'FP32', []), meta('v', 'FP32', [3])],
    outputs: [meta('y', 'FP32', [3])],
    sample: [fp32('x', [], [2.5]), fp32('v', [3], [1, -2, 0.5])],
    rtol: 0,
  },
  {
    name: 'fixed-shape',
    bytes: fixedShapeModel(),
    inputs: [meta('x', 'FP32', [2, 3])],
    outputs: [meta('y', 'FP32', [2, 3])],
    sample: [fp32('x', [2, 3], [1, -2, 3.5, 0, 5, -6.25])],
    rtol: 0,
  },
  {
    name: 'cnn',
    bytes: cnnModel(CNN_SIZE),
    inputs: [meta('image', 'FP32', [-1, 3, CNN_SIZE.height, CNN_SIZE.width])],
    outputs: [meta('logits', 'FP32', [-1, 10])],
    sample: [fp32('image', [1, 3, CNN_SIZE.height, CNN_SIZE.width], cnnImage)],
    rtol: FLOAT_RTOL,
  },
  {
    name: 'fp16',
    bytes: identityModel(DataType.FLOAT16),
    inputs: [meta('x', 'FP16', [-1])],
    outputs: [meta('y', 'FP16', [-1])],
    sample: [{ name: 'x', datatype: 'FP16', shape: [FP16_VALUES.length], data: FP16_VALUES }],
    rtol: 0,
  },
];

/** INT64 values past 2^53, exact on the wire both ways (JSON digits or binary). */
export const INT64_EXTREMES: OipTensor = {
  name: 'ids',
  datatype: 'INT64',
  shape: [1, 4],
  data: [9007199254740993n, -(2n ** 63n), 2n ** 63n - 1n, -9007199254740993n],
};

export function caseNamed(name: string): OipCase {
  const found = CASES.find((c) => c.name === name);
  if (!found) throw new Error(`no OIP test case ${name}`);
  return found;
}

/** A value as the predictions API's JSON carries it: 64-bit integers beyond 2^53 as decimal strings. */
function jsonScalar(value: WireValue): JsonScalar {
  if (typeof value !== 'bigint') return value;
  return value >= -BigInt(Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

function asJsonTensor(tensor: { datatype: OipTensor['datatype']; shape: number[]; data: WireValue[] }): JsonTensor {
  return { dtype: dtypeOfOip(tensor.datatype), shape: tensor.shape, data: tensor.data.map(jsonScalar) };
}

/**
 * What onnxruntime-node itself answers for a case's inputs. FP16 has no JSON form in the reference
 * run, and its model is an Identity: the expected outputs are the inputs.
 */
export async function referenceOutputs(c: OipCase, outputs?: string[]): Promise<Record<string, JsonTensor>> {
  if (c.name === 'fp16') {
    const [x] = c.sample;
    return { y: asJsonTensor({ ...x, data: x.data }) };
  }
  const feeds = Object.fromEntries(c.sample.map((t) => [t.name, asJsonTensor(t)]));
  return referenceRun(c.bytes, feeds, outputs);
}

/** The outputs of an answer in the reference run's JSON form. */
export function answerOutputs(answer: InferAnswer): Record<string, JsonTensor> {
  return Object.fromEntries(
    [...answer.outputs].map(([name, t]: [string, OipResultTensor]) => [name, asJsonTensor({ ...t, data: t.values })]),
  );
}

/** A successful infer whose outputs equal the direct run's (within the case's tolerance). */
export function assertInferMatches(answer: InferAnswer, expected: Record<string, JsonTensor>, rtol: number): void {
  assert.equal(answer.status, 200, `infer answered ${answer.status}: ${JSON.stringify(answer.header)}`);
  assertOutputsMatch(answerOutputs(answer), expected, { rtol });
}

/**
 * An error in the protocol's own body, exactly `{"error": "..."}` (clients fail to decode anything
 * else), with the given status; `mentions` are names the message must quote (the tensor at fault).
 */
export function assertOipError(answer: InferAnswer | GetAnswer<unknown>, status: number, ...mentions: string[]): void {
  const parsed = ('header' in answer ? answer.header : (answer.body ?? {})) as Record<string, unknown>;
  const body = JSON.stringify(parsed);
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${body}`);
  assert.deepEqual(Object.keys(parsed), ['error'], `the error body is exactly {error}: ${body}`);
  const message = parsed.error;
  assert.equal(typeof message, 'string', body);
  for (const name of mentions) assert.ok((message as string).includes(name), `the error names '${name}': ${body}`);
}

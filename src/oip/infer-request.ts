import { boundedName, boundedShape, boundedValue } from '../common/bounded-text';
import { InvalidInputError } from '../common/errors';
import { parseJsonExact } from '../common/exact-json';
import { checkJsonDepth, firstValueEnd } from '../common/json-depth';
import { allocateTensorData, NumericArray } from '../inference/tensor';
import { checkDims, flattenNested, InputProblem, MAX_TENSOR_RANK, writerFor } from '../inference/tensor-codec';
import { decodeUtf8, elementText, numberToFloat16, readFramedStrings } from '../inference/tensor-wire';
import { dtypeOfOip, elementBytes, isOipDatatype, OIP_DATATYPES, OipDatatype } from './oip-datatypes';
import type { OipInferRequest, OipInput, OipRequestedOutput } from './oip-types';

/**
 * Reading an Open Inference Protocol infer request: the JSON header, JSON `data` and the binary
 * tensor data extension, checked in full before anything runs. Every problem is an
 * InvalidInputError naming the input, output or field; nothing reads past the body.
 *
 * Unknown fields (top level, in inputs, in outputs) are ignored, as Triton and KServe do: clients
 * of newer protocol extensions send fields this server has no use for, and refusing them would
 * break those clients for nothing. Parameters are passed through untouched.
 */

/** The HTTP header giving the length of the JSON header when binary tensor data follows it. */
export const INFERENCE_HEADER = 'Inference-Header-Content-Length';

/** Longest name (input, output) or request id accepted; names are echoed in errors, ids in responses. */
export const MAX_OIP_NAME_CHARS = 1024;

/**
 * A request nests `data` of rank R at depth R + 3 (body, inputs, input); nothing legitimate nests
 * deeper, and parameters passed through must stay shallow enough to serialize back.
 */
const MAX_HEADER_DEPTH = MAX_TENSOR_RANK + 3;

export interface InferLimits {
  /** Elements across all inputs (MAX_TENSOR_ELEMENTS). */
  maxElements: number;
}

/** Elements a request may still hold; each input takes its own before any value is read. */
export interface ElementBudget {
  left: number;
}

/**
 * Reads an infer request body. `headerLength` is the raw `Inference-Header-Content-Length`
 * value: undefined means the whole body is the JSON header. Binary inputs stay views of `body`.
 */
export function readInferRequest(
  body: Uint8Array,
  headerLength: string | undefined,
  limits: InferLimits,
): OipInferRequest {
  const { json, binary } = splitBody(body, headerLength);
  const header = parseHeader(json, binary !== undefined);
  const id = readId(header.id);
  const parameters = optionalObject(header.parameters, 'parameters');
  const binaryOutputs = optionalBoolean(parameters?.binary_data_output, 'parameters.binary_data_output') ?? false;
  const inputs = readInputs(header.inputs, binary, { left: limits.maxElements });
  const outputs = readOutputs(header.outputs, binaryOutputs);
  return {
    ...(id !== undefined && { id }),
    ...(parameters !== undefined && { parameters }),
    inputs,
    ...(outputs !== undefined && { outputs }),
    binaryOutputs,
  };
}

/**
 * One input from JSON values (flat row-major or nested to match `shape`, as clients send both) or
 * gRPC typed contents, checked against its datatype: numeric and BOOL become little-endian bytes,
 * BYTES strings (given as strings or as UTF-8 bytes). 64-bit integers are safe-integer numbers,
 * BigInts (JSON digits past 2^53, read exactly) or decimal strings (what proto-loader gives with
 * `longs: String`).
 */
export function inputFromValues(
  name: string,
  datatype: string,
  shape: readonly number[],
  values: ArrayLike<unknown>,
  budget: ElementBudget,
): OipInput {
  return forInput(name, () => {
    const head = checkHead(name, datatype, shape, budget);
    const sink = valueSink(head.datatype, head.count);
    if (values.length > 0 && Array.isArray(values[0])) flattenNested(values, head.shape, sink.write);
    else {
      if (values.length !== head.count) {
        throw new InputProblem(`has ${values.length} values but shape ${boundedShape(head.shape)} needs ${head.count}`);
      }
      for (let i = 0; i < values.length; i++) sink.write(values[i], i);
    }
    return { name, datatype: head.datatype, shape: head.shape, data: sink.data() };
  });
}

/**
 * One input from raw little-endian bytes (the binary extension, gRPC raw contents). Numeric and
 * BOOL data stay a view of `bytes`; BYTES elements are decoded from their 4-byte length prefixes.
 */
export function inputFromRaw(
  name: string,
  datatype: string,
  shape: readonly number[],
  bytes: Uint8Array,
  budget: ElementBudget,
): OipInput {
  return forInput(name, () => {
    const head = checkHead(name, datatype, shape, budget);
    checkFixedSize(head, bytes.length, `has ${bytes.length} bytes of raw data`);
    return rawInput(name, head, bytes);
  });
}

interface TensorHead {
  datatype: OipDatatype;
  shape: number[];
  count: number;
}

function inputLabel(name: string): string {
  return `input '${boundedName(name)}'`;
}

function invalid(field: string, problem: string): InvalidInputError {
  return new InvalidInputError(`${field} ${problem}`, [{ field, problem }]);
}

/** Runs a check of one input, turning its problem into a 400 that names the input. */
function forInput<T>(name: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InputProblem) throw invalid(inputLabel(name), error.message);
    throw error;
  }
}

function checkHead(name: string, datatype: string, shape: readonly number[], budget: ElementBudget): TensorHead {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_OIP_NAME_CHARS) {
    throw new InputProblem(`needs a name of 1 to ${MAX_OIP_NAME_CHARS} characters`);
  }
  if (!isOipDatatype(datatype)) {
    throw new InputProblem(`has datatype ${boundedValue(datatype)}; expected one of ${OIP_DATATYPES.join(', ')}`);
  }
  if (!Array.isArray(shape)) throw new InputProblem('needs "shape", an array of non-negative integers');
  checkDims(shape);
  return { datatype, shape: [...shape], count: takeElements(shape, budget) };
}

/** Elements of a checked shape, taken from the budget; multiplies no further than the budget. */
function takeElements(shape: readonly number[], budget: ElementBudget): number {
  let count = shape.includes(0) ? 0 : 1;
  for (const d of shape) {
    count *= d;
    if (count > budget.left) {
      throw new InputProblem(`has shape ${boundedShape(shape)}, which takes the request past MAX_TENSOR_ELEMENTS`);
    }
  }
  budget.left -= count;
  return count;
}

/** Fixed-size elements only: `size` must be exactly the shape's elements times the element size. */
function checkFixedSize(head: TensorHead, size: number, sizeText: string): void {
  const perElement = elementBytes(head.datatype);
  if (perElement === undefined) return;
  const expected = head.count * perElement;
  if (size !== expected) {
    throw new InputProblem(
      `${sizeText}, but shape ${boundedShape(head.shape)} x ${head.datatype} needs ${expected} bytes`,
    );
  }
}

function rawInput(name: string, head: TensorHead, bytes: Uint8Array): OipInput {
  const data = head.datatype === 'BYTES' ? readFramedStrings(bytes, head.shape) : bytes;
  return { name, datatype: head.datatype, shape: head.shape, data };
}

/**
 * Where JSON values go: checked against the datatype and stored as the wire's bytes. FP16 takes
 * numbers, rounded to the nearest half (finite ones only); the rest reuse the /api/v1 checks.
 */
function valueSink(
  datatype: OipDatatype,
  count: number,
): { write: (value: unknown, at: number) => void; data: () => Uint8Array | string[] } {
  const target = allocateTensorData(dtypeOfOip(datatype), count);
  const write = writerOf(datatype, target);
  const data = () =>
    Array.isArray(target) ? target : new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
  return { write, data };
}

function writerOf(datatype: OipDatatype, target: NumericArray | string[]): (value: unknown, at: number) => void {
  if (datatype === 'FP16') return halfWriter(target as Uint16Array);
  if (datatype === 'BYTES') return textWriter(target as string[]);
  return writerFor(dtypeOfOip(datatype), target, datatype);
}

/** BYTES values: strings (JSON), or UTF-8 bytes (gRPC `bytes_contents`), decoded like binary data. */
function textWriter(out: string[]): (value: unknown, at: number) => void {
  return (value, at) => {
    if (typeof value === 'string') out[at] = value;
    else if (value instanceof Uint8Array) out[at] = elementText(value, at);
    else throw new InputProblem(`value ${boundedValue(value)} at flat index ${at} is not representable as BYTES`);
  };
}

function halfWriter(out: Uint16Array): (value: unknown, at: number) => void {
  return (value, at) => {
    const bits = typeof value === 'number' ? numberToFloat16(value) : 0x7c00;
    if ((bits & 0x7c00) === 0x7c00) {
      throw new InputProblem(`value ${boundedValue(value)} at flat index ${at} is not representable as FP16`);
    }
    out[at] = bits;
  };
}

/** The JSON header and the binary data after it, split at the header's stated length. */
function splitBody(body: Uint8Array, headerLength: string | undefined): { json: Uint8Array; binary?: Uint8Array } {
  if (headerLength === undefined) return { json: body };
  if (!/^\d{1,16}$/.test(headerLength)) {
    throw invalid(INFERENCE_HEADER, `must be the JSON header's length in bytes, got ${boundedValue(headerLength)}`);
  }
  const length = Number(headerLength);
  if (length > body.length) {
    throw invalid(INFERENCE_HEADER, `is ${headerLength}, longer than the whole body (${body.length} bytes)`);
  }
  return { json: body.subarray(0, length), binary: body.subarray(length) };
}

const MISSING_HEADER = `but the request has no ${INFERENCE_HEADER} header; send it with the length of the JSON header in bytes`;

function parseHeader(json: Uint8Array, framed: boolean): Record<string, unknown> {
  try {
    return parseJsonObject(json);
  } catch (error) {
    if (!framed) refuseUnframedBinary(json);
    throw error;
  }
}

/**
 * A body sent without its header length that is a JSON header followed by binary data (the most
 * common client mistake) fails to parse as a whole; say what is missing instead of "not JSON".
 */
function refuseUnframedBinary(body: Uint8Array): void {
  const end = firstValueEnd(body);
  if (end === undefined || end === body.length) return;
  let header: Record<string, unknown>;
  try {
    header = parseJsonObject(body.subarray(0, end));
  } catch {
    return;
  }
  const inputs: unknown[] = Array.isArray(header.inputs) ? header.inputs : [];
  const binary = inputs.find(
    (input) =>
      isPlainObject(input) && isPlainObject(input.parameters) && input.parameters.binary_data_size !== undefined,
  ) as { name?: unknown } | undefined;
  if (binary === undefined) return;
  const label = typeof binary.name === 'string' ? inputLabel(binary.name) : 'An input';
  throw invalid(label, `has parameters.binary_data_size ${MISSING_HEADER} (${end} here)`);
}

function parseJsonObject(json: Uint8Array): Record<string, unknown> {
  checkJsonDepth(json, MAX_HEADER_DEPTH);
  const notJson = (reason: string) => invalid('The JSON header', `(${json.length} bytes) is not valid JSON: ${reason}`);
  const text = decodeUtf8(json);
  if (text === undefined) throw notJson('it is not valid UTF-8');
  let value: unknown;
  try {
    value = parseJsonExact(text);
  } catch (error) {
    throw notJson((error as SyntaxError).message.slice(0, 200));
  }
  if (!isPlainObject(value)) throw invalid('The JSON header', 'must be an object {"inputs": [...]}');
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalObject(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw invalid(field, 'must be an object');
  return value;
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw invalid(field, `must be true or false, got ${boundedValue(value)}`);
}

function readId(id: unknown): string | undefined {
  if (id === undefined || (typeof id === 'string' && id.length <= MAX_OIP_NAME_CHARS)) return id;
  throw invalid('id', `must be a string of at most ${MAX_OIP_NAME_CHARS} characters`);
}

/** A name of 1 to MAX_OIP_NAME_CHARS characters, else a 400 naming the entry by position. */
function readName(entry: Record<string, unknown>, field: string): string {
  const { name } = entry;
  if (typeof name === 'string' && name.length > 0 && name.length <= MAX_OIP_NAME_CHARS) return name;
  throw invalid(field, `needs "name", a string of 1 to ${MAX_OIP_NAME_CHARS} characters`);
}

function readInputs(value: unknown, binary: Uint8Array | undefined, budget: ElementBudget): OipInput[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid('inputs', 'must be a non-empty array of {name, shape, datatype, data}');
  }
  const names = new Set<string>();
  const cursor = { offset: 0 };
  const inputs = value.map((entry: unknown, index) => {
    if (!isPlainObject(entry)) throw invalid(`inputs[${index}]`, 'must be an object {name, shape, datatype, data}');
    const name = readName(entry, `inputs[${index}]`);
    if (names.has(name)) throw invalid(inputLabel(name), 'is given twice');
    names.add(name);
    return forInput(name, () => readInput(entry, name, binary, cursor, budget));
  });
  const rest = (binary?.length ?? 0) - cursor.offset;
  if (rest > 0) {
    throw invalid(
      'The body',
      `has ${rest} bytes after the binary data of its inputs (their binary_data_size add up to ${cursor.offset}); ` +
        `check ${INFERENCE_HEADER} and each binary_data_size`,
    );
  }
  return inputs;
}

/** One input entry; its binary data, if any, starts at `cursor.offset` of `binary` (moved past it). */
function readInput(
  entry: Record<string, unknown>,
  name: string,
  binary: Uint8Array | undefined,
  cursor: { offset: number },
  budget: ElementBudget,
): OipInput {
  const parameters = entry.parameters;
  if (parameters !== undefined && !isPlainObject(parameters))
    throw new InputProblem('has parameters that are not an object');
  const size = parameters?.binary_data_size;
  const { datatype, shape, data } = entry as { datatype: string; shape: number[]; data: unknown };
  let input: OipInput;
  if (size === undefined) {
    if (data === undefined) throw new InputProblem('has neither "data" nor parameters.binary_data_size');
    if (!Array.isArray(data)) throw new InputProblem(`has "data" that is not an array but ${boundedValue(data)}`);
    input = inputFromValues(name, datatype, shape, data, budget);
  } else {
    if (data !== undefined) throw new InputProblem('has both "data" and parameters.binary_data_size; send one of them');
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new InputProblem(`has parameters.binary_data_size ${boundedValue(size)}, not a byte count`);
    }
    if (binary === undefined) {
      throw new InputProblem(`has parameters.binary_data_size ${MISSING_HEADER}`);
    }
    const head = checkHead(name, datatype, shape, budget);
    checkFixedSize(head, size, `has binary_data_size ${size}`);
    const { offset } = cursor;
    if (size > binary.length - offset) {
      throw new InputProblem(
        `has binary_data_size ${size} but only ${binary.length - offset} bytes of the body are left: the body is truncated`,
      );
    }
    input = rawInput(name, head, binary.subarray(offset, offset + size));
    cursor.offset += size;
  }
  return parameters === undefined ? input : { ...input, parameters };
}

function readOutputs(value: unknown, binaryOutputs: boolean): OipRequestedOutput[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid('outputs', 'must be an array of {name, parameters?}');
  // An empty list asks for no output in particular, like none at all (Triton answers every output).
  if (value.length === 0) return undefined;
  const names = new Set<string>();
  return value.map((entry: unknown, index) => {
    if (!isPlainObject(entry)) throw invalid(`outputs[${index}]`, 'must be an object {name, parameters?}');
    const name = readName(entry, `outputs[${index}]`);
    const label = `output '${boundedName(name)}'`;
    if (names.has(name)) throw invalid(label, 'is asked for twice');
    names.add(name);
    const parameters = optionalObject(entry.parameters, `${label} parameters`);
    const binary = optionalBoolean(parameters?.binary_data, `${label} parameters.binary_data`) ?? binaryOutputs;
    return parameters === undefined ? { name, binary } : { name, binary, parameters };
  });
}

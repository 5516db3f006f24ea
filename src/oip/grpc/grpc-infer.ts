import { boundedName } from '../../common/bounded-text';
import { InvalidInputError } from '../../common/errors';
import { ElementBudget, inputFromRaw, inputFromValues } from '../infer-request';
import { isOipDatatype, OipDatatype } from '../oip-datatypes';
import type { OipInferRequest, OipInferResult, OipInput } from '../oip-types';
import type {
  InferInputTensorMessage,
  InferParameterMessage,
  InferParameters,
  InferTensorContentsMessage,
  ModelInferRequestMessage,
  ModelInferResponseMessage,
} from './grpc-definition';

type ContentsField = keyof InferTensorContentsMessage;

/** The InferTensorContents field of each datatype; FP16 has none and travels as raw contents only. */
const CONTENTS_FIELD: Record<OipDatatype, ContentsField | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const CONTENTS_FIELDS: readonly ContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

/**
 * Bytes a decoded ModelInferRequest holds in its tensors: raw contents as received, typed contents
 * at 8 bytes per element (a JS array of numbers or strings holds at least that), bytes elements
 * at their length. The rest of a message (names, shapes, parameters) is small beside them.
 */
export function tensorBytes(message: ModelInferRequestMessage): number {
  let bytes = message.raw_input_contents.reduce((n, raw) => n + raw.byteLength, 0);
  for (const input of message.inputs) {
    const contents = input.contents;
    if (!contents) continue;
    for (const field of CONTENTS_FIELDS) {
      if (field === 'bytes_contents') bytes += contents.bytes_contents.reduce((n, b) => n + b.byteLength, 0);
      else bytes += contents[field].length * 8;
    }
  }
  return bytes;
}

/** An int64 or uint64 parameter: a number when it is exact as one, else its decimal string. */
function integerValue(decimal: string | number): number | string {
  const value = Number(decimal);
  return Number.isSafeInteger(value) ? value : String(decimal);
}

/** An InferParameter as the plain value REST clients send in JSON; undefined when no member is set. */
function parameterValue(parameter: InferParameterMessage): unknown {
  switch (parameter.parameter_choice) {
    case 'bool_param':
      return parameter.bool_param;
    case 'string_param':
      return parameter.string_param;
    case 'double_param':
      return parameter.double_param;
    case 'int64_param':
      return integerValue(parameter.int64_param ?? 0);
    case 'uint64_param':
      return integerValue(parameter.uint64_param ?? 0);
    default:
      return undefined;
  }
}

/** A parameters map as plain values; undefined when it is empty. */
export function parametersOf(parameters: InferParameters): Record<string, unknown> | undefined {
  const entries = Object.entries(parameters)
    .map(([name, parameter]) => [name, parameterValue(parameter)] as const)
    .filter(([, value]) => value !== undefined);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** A plain value as an InferParameter: booleans, strings, integers, doubles; anything else as JSON text. */
function parameterMessage(value: unknown): InferParameterMessage {
  if (typeof value === 'boolean') return { bool_param: value };
  if (typeof value === 'string') return { string_param: value };
  if (typeof value === 'bigint') return { int64_param: value.toString() };
  if (typeof value === 'number') return Number.isSafeInteger(value) ? { int64_param: value } : { double_param: value };
  return { string_param: JSON.stringify(value) ?? '' };
}

/** Plain parameters (a response's) as an InferParameter map. */
export function inferParametersOf(values: Record<string, unknown> | undefined): InferParameters {
  const parameters: InferParameters = {};
  for (const [name, value] of Object.entries(values ?? {})) {
    if (value !== undefined) parameters[name] = parameterMessage(value);
  }
  return parameters;
}

/** An input's typed contents: the field of its datatype, and no other. */
function contentsOf(input: InferInputTensorMessage, budget: ElementBudget): OipInput {
  const { name, datatype, contents } = input;
  const label = `input '${boundedName(name)}'`;
  if (contents === null) {
    throw new InvalidInputError(`${label} has no contents: set its contents or send raw_input_contents`);
  }
  // An unknown datatype has no field: the codec refuses it, in the words it uses for raw contents.
  if (!isOipDatatype(datatype)) return inputFromValues(name, datatype, shapeOf(input), [], budget);
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) {
    throw new InvalidInputError(`${label} is ${datatype}, which has no contents field: send raw_input_contents`);
  }
  const stray = CONTENTS_FIELDS.find((f) => f !== field && contents[f].length > 0);
  if (stray) throw new InvalidInputError(`${label} is ${datatype}: its elements go in ${field}, not ${stray}`);
  return inputFromValues(name, datatype, shapeOf(input), contents[field], budget);
}

function shapeOf(input: InferInputTensorMessage): number[] {
  return input.shape.map(Number);
}

/** Inputs from raw_input_contents: one entry per input, in order, and no typed contents beside them. */
function rawInputs(message: ModelInferRequestMessage, budget: ElementBudget): OipInput[] {
  const { inputs, raw_input_contents: raw } = message;
  const typed = inputs.find((input) => input.contents !== null);
  if (typed) {
    throw new InvalidInputError(
      `input '${boundedName(typed.name)}' has contents while raw_input_contents is set: send every input one way`,
    );
  }
  if (raw.length !== inputs.length) {
    throw new InvalidInputError(
      `raw_input_contents has ${raw.length} entries for ${inputs.length} inputs: send one per input, in order`,
    );
  }
  return inputs.map((input, i) => inputFromRaw(input.name, input.datatype, shapeOf(input), raw[i], budget));
}

/**
 * A ModelInferRequest as the protocol's request, inputs checked and decoded by the shared codec
 * (sizes, values, `budget`); errors name the tensor. Every output goes out as raw contents.
 */
export function inferRequestOf(message: ModelInferRequestMessage, budget: ElementBudget): OipInferRequest {
  const inputs =
    message.raw_input_contents.length > 0
      ? rawInputs(message, budget)
      : message.inputs.map((input) => contentsOf(input, budget));
  for (const [i, input] of inputs.entries()) {
    const parameters = parametersOf(message.inputs[i].parameters);
    if (parameters) input.parameters = parameters;
  }
  return {
    ...(message.id ? { id: message.id } : {}),
    ...optionalParameters(message.parameters),
    inputs,
    outputs:
      message.outputs.length > 0
        ? message.outputs.map((output) => ({
            name: output.name,
            binary: true,
            ...optionalParameters(output.parameters),
          }))
        : undefined,
    binaryOutputs: true,
  };
}

function optionalParameters(parameters: InferParameters): { parameters?: Record<string, unknown> } {
  const values = parametersOf(parameters);
  return values ? { parameters: values } : {};
}

/** An infer result as a ModelInferResponse: every output's bytes in raw_output_contents, as Triton answers. */
export function inferResponseOf(result: OipInferResult): ModelInferResponseMessage {
  return {
    model_name: result.modelName,
    model_version: result.modelVersion,
    id: result.id ?? '',
    parameters: inferParametersOf(result.parameters),
    outputs: result.outputs.map((output) => ({ name: output.name, datatype: output.datatype, shape: output.shape })),
    raw_output_contents: result.outputs.map((output) => output.raw),
  };
}

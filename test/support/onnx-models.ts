/**
 * Builders for small, real ONNX models, encoded in code with onnx-proto so tests need no binary fixtures.
 *
 * Every model builder returns the encoded ModelProto as a Buffer and is deterministic: weights come from
 * a seeded linear congruential generator, so the same call always yields the same bytes.
 *
 * Unless stated otherwise, models use ir_version 8, opset 17 of the default domain, producer_name
 * 'modelforge-tests' and producer_version '1'. A `string` dimension is symbolic (dim_param), a `number`
 * is fixed (dim_value). See onnx-models.md beside this file for what onnxruntime-node reports for each.
 */
import { onnx } from 'onnx-proto';

/** ONNX element types (onnx.TensorProto.DataType): FLOAT=1, UINT8=2, INT8=3, INT32=6, INT64=7, STRING=8, BOOL=9, DOUBLE=11, ... */
export const DataType = onnx.TensorProto.DataType;
export type DataType = onnx.TensorProto.DataType;

/** A tensor dimension: a number is fixed (dim_value), a string is symbolic (dim_param). */
export type Dim = number | string;

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;
export const PRODUCER_NAME = 'modelforge-tests';
export const PRODUCER_VERSION = '1';

// ---------------------------------------------------------------------------------------------------------------
// Low-level helpers
// ---------------------------------------------------------------------------------------------------------------

/**
 * `seededRandom(seed: number): () => number` — a tiny LCG (Numerical Recipes constants) returning
 * uniform floats in [-1, 1). Deterministic for a given seed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 0x100000000) * 2 - 1;
  };
}

/**
 * `tensorInfo(name: string, elemType: DataType, dims?: readonly Dim[]): onnx.IValueInfoProto` — a graph
 * input/output description. `dims = []` declares a scalar (rank 0); omitting `dims` leaves the shape unknown.
 */
export function tensorInfo(name: string, elemType: DataType, dims?: readonly Dim[]): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType };
  if (dims !== undefined) {
    tensorType.shape = {
      dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}

/** `floatInitializer(name: string, dims: readonly number[], values: ArrayLike<number>): onnx.ITensorProto` — float32 constant. */
export function floatInitializer(name: string, dims: readonly number[], values: ArrayLike<number>): onnx.ITensorProto {
  checkCount(name, dims, values.length);
  return { name, dims: [...dims], dataType: DataType.FLOAT, floatData: Array.from(values) };
}

/**
 * `int64Initializer(name: string, dims: readonly number[], values: ReadonlyArray<number | bigint>): onnx.ITensorProto`
 * — int64 constant, stored as little-endian raw_data so values beyond 2^53 survive exactly.
 */
export function int64Initializer(
  name: string,
  dims: readonly number[],
  values: ReadonlyArray<number | bigint>,
): onnx.ITensorProto {
  checkCount(name, dims, values.length);
  const raw = BigInt64Array.from(values, (v) => BigInt(v));
  return { name, dims: [...dims], dataType: DataType.INT64, rawData: new Uint8Array(raw.buffer) };
}

/**
 * `randomFloatInitializer(name: string, dims: readonly number[], random: () => number, scale?: number): onnx.ITensorProto`
 * — float32 constant filled with `random() * scale` (scale defaults to 1/sqrt(fan-in), fan-in = product of dims[1..]).
 */
export function randomFloatInitializer(
  name: string,
  dims: readonly number[],
  random: () => number,
  scale?: number,
): onnx.ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  const fanIn = dims.slice(1).reduce((a, b) => a * b, 1);
  const s = scale ?? 1 / Math.sqrt(fanIn);
  return floatInitializer(
    name,
    dims,
    Array.from({ length: count }, () => random() * s),
  );
}

/** Typed constructors for node attributes: `attr.int('axis', 1)`, `attr.float('alpha', 1)`, `attr.ints('pads', [1, 1, 1, 1])`, ... */
export const attr = {
  int: (name: string, i: number): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i }),
  float: (name: string, f: number): onnx.IAttributeProto => ({
    name,
    type: onnx.AttributeProto.AttributeType.FLOAT,
    f,
  }),
  string: (name: string, s: string): onnx.IAttributeProto => ({
    name,
    type: onnx.AttributeProto.AttributeType.STRING,
    s: new TextEncoder().encode(s),
  }),
  ints: (name: string, ints: readonly number[]): onnx.IAttributeProto => ({
    name,
    type: onnx.AttributeProto.AttributeType.INTS,
    ints: [...ints],
  }),
  floats: (name: string, floats: readonly number[]): onnx.IAttributeProto => ({
    name,
    type: onnx.AttributeProto.AttributeType.FLOATS,
    floats: [...floats],
  }),
};

/**
 * `node(opType: string, inputs: string[], outputs: string[], attributes?: onnx.IAttributeProto[], domain?: string): onnx.INodeProto`
 * — one graph node; the node name is derived from its first output.
 */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: readonly onnx.IAttributeProto[] = [],
  domain = '',
): onnx.INodeProto {
  return {
    name: `${opType}_${outputs[0] ?? 'out'}`,
    opType,
    domain,
    input: [...inputs],
    output: [...outputs],
    attribute: [...attributes],
  };
}

export interface GraphSpec {
  name: string;
  nodes: readonly onnx.INodeProto[];
  inputs: readonly onnx.IValueInfoProto[];
  outputs: readonly onnx.IValueInfoProto[];
  initializers?: readonly onnx.ITensorProto[];
}

/** `graph(spec: GraphSpec): onnx.IGraphProto` — assembles a GraphProto. */
export function graph(spec: GraphSpec): onnx.IGraphProto {
  return {
    name: spec.name,
    node: [...spec.nodes],
    input: [...spec.inputs],
    output: [...spec.outputs],
    initializer: [...(spec.initializers ?? [])],
  };
}

export interface ModelSpec {
  /** Omit to build a ModelProto without a graph. */
  graph?: onnx.IGraphProto;
  /** Defaults to `[{ domain: '', version: 17 }]`; pass `[]` for a model without any opset import. */
  opsets?: ReadonlyArray<{ domain: string; version: number }>;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
}

/** `modelProto(spec: ModelSpec): onnx.IModelProto` — the plain ModelProto object, before encoding. */
export function modelProto(spec: ModelSpec): onnx.IModelProto {
  const model: onnx.IModelProto = {
    irVersion: spec.irVersion ?? IR_VERSION,
    producerName: spec.producerName ?? PRODUCER_NAME,
    producerVersion: spec.producerVersion ?? PRODUCER_VERSION,
    opsetImport: (spec.opsets ?? [{ domain: '', version: OPSET_VERSION }]).map((o) => ({ ...o })),
  };
  if (spec.graph !== undefined) model.graph = spec.graph;
  if (spec.docString !== undefined) model.docString = spec.docString;
  if (spec.metadata !== undefined) {
    model.metadataProps = Object.entries(spec.metadata).map(([key, value]) => ({ key, value }));
  }
  return model;
}

/** `encodeModel(spec: ModelSpec): Buffer` — builds, verifies and encodes a ModelProto (see modelProto for defaults). */
export function encodeModel(spec: ModelSpec): Buffer {
  return encodeModelProto(modelProto(spec));
}

/** `encodeModelProto(model: onnx.IModelProto): Buffer` — verifies and encodes a hand-made ModelProto object as is. */
export function encodeModelProto(model: onnx.IModelProto): Buffer {
  const problem = onnx.ModelProto.verify(model);
  if (problem !== null) throw new Error(`invalid ModelProto: ${problem}`);
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

/** `decodeModel(bytes: Uint8Array): onnx.ModelProto` — parses encoded bytes back into a ModelProto. */
export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/**
 * `floatInitializerValues(model: Uint8Array | onnx.IModelProto, name: string): Float32Array` — reads back a
 * float32 initializer (float_data or raw_data), e.g. to compute expected outputs of a seeded model in a test.
 */
export function floatInitializerValues(model: Uint8Array | onnx.IModelProto, name: string): Float32Array {
  const proto = model instanceof Uint8Array ? decodeModel(model) : model;
  const tensor = proto.graph?.initializer?.find((t) => t.name === name);
  if (tensor == null) throw new Error(`no initializer named ${name}`);
  if (tensor.rawData != null && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(tensor.floatData ?? []);
}

function checkCount(name: string, dims: readonly number[], count: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== count)
    throw new Error(`initializer ${name}: dims [${dims.join(',')}] need ${expected} values, got ${count}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Valid models
// ---------------------------------------------------------------------------------------------------------------

export interface MlpOptions {
  inputSize?: number;
  hidden?: number;
  outputSize?: number;
  /** Batch dimension: a string is symbolic (default 'batch'), a number fixes it. */
  batch?: Dim;
  seed?: number;
}

/**
 * `mlpModel({ inputSize = 4, hidden = 8, outputSize = 3, batch = 'batch', seed = 1 } = {}): Buffer`
 *
 * x float32 [batch, inputSize] -> Gemm(W1 [hidden, inputSize], b1, transB=1) -> Relu
 *   -> Gemm(W2 [outputSize, hidden], b2, transB=1) -> y float32 [batch, outputSize].
 * Initializers are named W1, b1, W2, b2 (read them back with floatInitializerValues).
 */
export function mlpModel(options: MlpOptions = {}): Buffer {
  const { inputSize = 4, hidden = 8, outputSize = 3, batch = 'batch', seed = 1 } = options;
  const random = seededRandom(seed);
  return encodeModel({
    graph: graph({
      name: 'mlp',
      inputs: [tensorInfo('x', DataType.FLOAT, [batch, inputSize])],
      outputs: [tensorInfo('y', DataType.FLOAT, [batch, outputSize])],
      initializers: [
        randomFloatInitializer('W1', [hidden, inputSize], random),
        randomFloatInitializer('b1', [hidden], random, 0.1),
        randomFloatInitializer('W2', [outputSize, hidden], random),
        randomFloatInitializer('b2', [outputSize], random, 0.1),
      ],
      nodes: [
        node('Gemm', ['x', 'W1', 'b1'], ['h'], [attr.int('transB', 1)]),
        node('Relu', ['h'], ['h_relu']),
        node('Gemm', ['h_relu', 'W2', 'b2'], ['y'], [attr.int('transB', 1)]),
      ],
    }),
  });
}

/**
 * `multiIoModel(): Buffer`
 *
 * Inputs a, b float32 [N, 3]. Outputs sum = a + b float32 [N, 3], product = a * b float32 [N, 3],
 * total = ReduceSum(sum, axes=[1], keepdims=0) float32 [N].
 */
export function multiIoModel(): Buffer {
  return encodeModel({
    graph: graph({
      name: 'multi_io',
      inputs: [tensorInfo('a', DataType.FLOAT, ['N', 3]), tensorInfo('b', DataType.FLOAT, ['N', 3])],
      outputs: [
        tensorInfo('sum', DataType.FLOAT, ['N', 3]),
        tensorInfo('product', DataType.FLOAT, ['N', 3]),
        tensorInfo('total', DataType.FLOAT, ['N']),
      ],
      initializers: [int64Initializer('axes_1', [1], [1])],
      nodes: [
        node('Add', ['a', 'b'], ['sum']),
        node('Mul', ['a', 'b'], ['product']),
        node('ReduceSum', ['sum', 'axes_1'], ['total'], [attr.int('keepdims', 0)]),
      ],
    }),
  });
}

/**
 * `int64BoolModel(): Buffer`
 *
 * Inputs ids int64 [N, 4], mask bool [N, 4]. Outputs masked = Where(mask, ids, 0) int64 [N, 4] (ids pass
 * through bit-exactly, including values beyond 2^53) and count = ReduceSum(Cast(mask, int64), axes=[1],
 * keepdims=0) int64 [N].
 */
export function int64BoolModel(): Buffer {
  return encodeModel({
    graph: graph({
      name: 'int64_bool',
      inputs: [tensorInfo('ids', DataType.INT64, ['N', 4]), tensorInfo('mask', DataType.BOOL, ['N', 4])],
      outputs: [tensorInfo('masked', DataType.INT64, ['N', 4]), tensorInfo('count', DataType.INT64, ['N'])],
      initializers: [int64Initializer('zero', [], [0]), int64Initializer('axes_1', [1], [1])],
      nodes: [
        node('Where', ['mask', 'ids', 'zero'], ['masked']),
        node('Cast', ['mask'], ['mask_i64'], [attr.int('to', DataType.INT64)]),
        node('ReduceSum', ['mask_i64', 'axes_1'], ['count'], [attr.int('keepdims', 0)]),
      ],
    }),
  });
}

/**
 * `scalarModel(): Buffer`
 *
 * Inputs x float32 scalar (shape [], rank 0) and v float32 [3]. Output y = v * x float32 [3].
 */
export function scalarModel(): Buffer {
  return encodeModel({
    graph: graph({
      name: 'scalar',
      inputs: [tensorInfo('x', DataType.FLOAT, []), tensorInfo('v', DataType.FLOAT, [3])],
      outputs: [tensorInfo('y', DataType.FLOAT, [3])],
      nodes: [node('Mul', ['v', 'x'], ['y'])],
    }),
  });
}

/** `fixedShapeModel(): Buffer` — input x float32 [2, 3] (no dynamic dims), output y = Neg(x) float32 [2, 3]. */
export function fixedShapeModel(): Buffer {
  return encodeModel({
    graph: graph({
      name: 'fixed_shape',
      inputs: [tensorInfo('x', DataType.FLOAT, [2, 3])],
      outputs: [tensorInfo('y', DataType.FLOAT, [2, 3])],
      nodes: [node('Neg', ['x'], ['y'])],
    }),
  });
}

export interface CnnOptions {
  channels?: number;
  height?: number;
  width?: number;
  classes?: number;
  seed?: number;
}

/**
 * `cnnModel({ channels = 3, height = 48, width = 192, classes = 10, seed = 7 } = {}): Buffer`
 *
 * image float32 [batch, channels, height, width] -> Conv(conv1_W [8, channels, 3, 3], conv1_b, pads 1) -> Relu
 *   -> MaxPool(2x2, stride 2) -> Conv(conv2_W [16, 8, 3, 3], conv2_b, pads 1) -> Relu -> GlobalAveragePool
 *   -> Flatten -> Gemm(fc_W [classes, 16], fc_b, transB=1) -> logits float32 [batch, classes].
 * height and width should be even (MaxPool floors odd sizes, which is fine for ONNX but not for the docs).
 */
export function cnnModel(options: CnnOptions = {}): Buffer {
  const { channels = 3, height = 48, width = 192, classes = 10, seed = 7 } = options;
  const random = seededRandom(seed);
  const conv = [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [1, 1])];
  return encodeModel({
    graph: graph({
      name: 'cnn',
      inputs: [tensorInfo('image', DataType.FLOAT, ['batch', channels, height, width])],
      outputs: [tensorInfo('logits', DataType.FLOAT, ['batch', classes])],
      initializers: [
        randomFloatInitializer('conv1_W', [8, channels, 3, 3], random),
        randomFloatInitializer('conv1_b', [8], random, 0.1),
        randomFloatInitializer('conv2_W', [16, 8, 3, 3], random),
        randomFloatInitializer('conv2_b', [16], random, 0.1),
        randomFloatInitializer('fc_W', [classes, 16], random),
        randomFloatInitializer('fc_b', [classes], random, 0.1),
      ],
      nodes: [
        node('Conv', ['image', 'conv1_W', 'conv1_b'], ['conv1'], conv),
        node('Relu', ['conv1'], ['relu1']),
        node('MaxPool', ['relu1'], ['pool1'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])]),
        node('Conv', ['pool1', 'conv2_W', 'conv2_b'], ['conv2'], conv),
        node('Relu', ['conv2'], ['relu2']),
        node('GlobalAveragePool', ['relu2'], ['gap']),
        node('Flatten', ['gap'], ['flat'], [attr.int('axis', 1)]),
        node('Gemm', ['flat', 'fc_W', 'fc_b'], ['logits'], [attr.int('transB', 1)]),
      ],
    }),
  });
}

export interface IdentityOptions {
  inputName?: string;
  outputName?: string;
  dims?: readonly Dim[];
}

/**
 * `identityModel(elemType: DataType, { inputName = 'x', outputName = 'y', dims = ['N'] } = {}): Buffer`
 * — one Identity node, to cover any element type onnxruntime supports.
 */
export function identityModel(elemType: DataType, options: IdentityOptions = {}): Buffer {
  const { inputName = 'x', outputName = 'y', dims = ['N'] } = options;
  return encodeModel({
    graph: graph({
      name: `identity_${DataType[elemType].toLowerCase()}`,
      inputs: [tensorInfo(inputName, elemType, dims)],
      outputs: [tensorInfo(outputName, elemType, dims)],
      nodes: [node('Identity', [inputName], [outputName])],
    }),
  });
}

/** `stringModel(): Buffer` — input s string [N] -> Identity -> output s_out string [N]. */
export function stringModel(): Buffer {
  return identityModel(DataType.STRING, { inputName: 's', outputName: 's_out' });
}

/**
 * `constantOfShapeModel(): Buffer` — input `shape` int64 [2] -> ConstantOfShape -> `y` float32
 * [rows, cols] of zeros: a two-number request whose output is as large as the numbers say.
 */
export function constantOfShapeModel(): Buffer {
  return encodeModel({
    graph: graph({
      name: 'constant_of_shape',
      inputs: [tensorInfo('shape', DataType.INT64, [2])],
      outputs: [tensorInfo('y', DataType.FLOAT, ['rows', 'cols'])],
      nodes: [node('ConstantOfShape', ['shape'], ['y'])],
    }),
  });
}

/**
 * `float64Int32Uint8Int8Model(): Buffer`
 *
 * Four inputs f64 float64 [N], i32 int32 [N], u8 uint8 [N], i8 int8 [N], each passed through Identity to
 * f64_out, i32_out, u8_out, i8_out (same type and shape).
 */
export function float64Int32Uint8Int8Model(): Buffer {
  const types: ReadonlyArray<[string, DataType]> = [
    ['f64', DataType.DOUBLE],
    ['i32', DataType.INT32],
    ['u8', DataType.UINT8],
    ['i8', DataType.INT8],
  ];
  return encodeModel({
    graph: graph({
      name: 'dtypes',
      inputs: types.map(([name, type]) => tensorInfo(name, type, ['N'])),
      outputs: types.map(([name, type]) => tensorInfo(`${name}_out`, type, ['N'])),
      nodes: types.map(([name]) => node('Identity', [name], [`${name}_out`])),
    }),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Models that must be rejected (by the server, or by onnxruntime at load time)
// ---------------------------------------------------------------------------------------------------------------

/**
 * `externalDataModel(location = '../../etc/passwd'): Buffer`
 *
 * A valid ModelProto whose initializer W (float32 [4]) has data_location = EXTERNAL and external_data
 * { location, offset: '0', length: '16' } (the CVE-2022-25882 path-traversal shape). y = x + W, x float32 [4].
 * The server must reject it before handing the bytes to onnxruntime.
 */
export function externalDataModel(location = '../../etc/passwd'): Buffer {
  const weights: onnx.ITensorProto = {
    name: 'W',
    dims: [4],
    dataType: DataType.FLOAT,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '16' },
    ],
  };
  return encodeModel({
    graph: graph({
      name: 'external_data',
      inputs: [tensorInfo('x', DataType.FLOAT, [4])],
      outputs: [tensorInfo('y', DataType.FLOAT, [4])],
      initializers: [weights],
      nodes: [node('Add', ['x', 'W'], ['y'])],
    }),
  });
}

/**
 * `unknownDomainModel(): Buffer` — x float32 [N] -> EvilOp (domain 'com.evil.custom', opset import
 * com.evil.custom v1) -> y. onnxruntime cannot load it: no kernel/schema for that domain.
 */
export function unknownDomainModel(): Buffer {
  return encodeModel({
    opsets: [
      { domain: '', version: OPSET_VERSION },
      { domain: 'com.evil.custom', version: 1 },
    ],
    graph: graph({
      name: 'unknown_domain',
      inputs: [tensorInfo('x', DataType.FLOAT, ['N'])],
      outputs: [tensorInfo('y', DataType.FLOAT, ['N'])],
      nodes: [node('EvilOp', ['x'], ['y'], [], 'com.evil.custom')],
    }),
  });
}

/** `modelWithoutGraph(): Buffer` — ModelProto with ir_version 8 and opset 17 but no graph. */
export function modelWithoutGraph(): Buffer {
  return encodeModel({});
}

/** `modelWithoutOpset(): Buffer` — ModelProto with a valid graph (y = Neg(x), float32 [2, 3]) but no opset_import. */
export function modelWithoutOpset(): Buffer {
  return encodeModel({
    opsets: [],
    graph: graph({
      name: 'no_opset',
      inputs: [tensorInfo('x', DataType.FLOAT, [2, 3])],
      outputs: [tensorInfo('y', DataType.FLOAT, [2, 3])],
      nodes: [node('Neg', ['x'], ['y'])],
    }),
  });
}

/**
 * A corpus of hostile model files, built in code: external data in every place a tensor can live,
 * fields smuggled past a generated decoder, foreign operator domains, nesting deep enough to
 * overflow a recursive walker, a warm-up that would need huge inputs, and bytes that are not a
 * model at all. Each must be refused with 422. Where onnx-proto cannot express a model (fields it
 * does not know, repeated singular fields, 10,000 nested graphs), the bytes are written by hand:
 * a protobuf message is a concatenation of fields, so appending a field's bytes adds the field.
 */
import { onnx } from 'onnx-proto';
import {
  DataType,
  encodeModelProto,
  floatInitializer,
  graph,
  identityModel,
  mlpModel,
  modelProto,
  node,
  OPSET_VERSION,
  seededRandom,
  tensorInfo,
  unknownDomainModel,
} from './onnx-models';

const AttributeType = onnx.AttributeProto.AttributeType;

export interface HostileModel {
  /** What the model tries. */
  name: string;
  bytes: Buffer;
  /** What the 422 message must say. */
  message: RegExp;
  /** Refused by the scan of the bytes (inspectProto), or only when the warm-up is planned. */
  stage: 'scan' | 'warmup';
}

// ---------------------------------------------------------------------------------------------------------------
// Raw protobuf writing
// ---------------------------------------------------------------------------------------------------------------

/** A base-128 varint. */
export function varint(value: number): Buffer {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A length-delimited field (wire type 2): a message, a string or bytes. */
export function bytesField(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([varint(field * 8 + 2), varint(payload.length), payload]);
}

/** A varint field (wire type 0). */
export function varintField(field: number, value: number): Buffer {
  return Buffer.concat([varint(field * 8), varint(value)]);
}

const stringField = (field: number, value: string): Buffer => bytesField(field, Buffer.from(value, 'utf8'));
const encodeGraph = (g: onnx.IGraphProto): Buffer => Buffer.from(onnx.GraphProto.encode(g).finish());
const encodeNode = (n: onnx.INodeProto): Buffer => Buffer.from(onnx.NodeProto.encode(n).finish());
const encodeTensor = (t: onnx.ITensorProto): Buffer => Buffer.from(onnx.TensorProto.encode(t).finish());

/** A ModelProto (defaults of onnx-models.ts) whose graph field is the given raw GraphProto bytes. */
function modelAround(graphBytes: Uint8Array, extra: Partial<onnx.IModelProto> = {}): Buffer {
  const head = encodeModelProto({ ...modelProto({}), ...extra });
  return Buffer.concat([head, bytesField(7, graphBytes)]);
}

// ---------------------------------------------------------------------------------------------------------------
// Pieces
// ---------------------------------------------------------------------------------------------------------------

/** A float32 [2] tensor whose bytes would be read from `location`, outside the model file. */
export function externalTensor(name: string, location = '../../etc/passwd'): onnx.ITensorProto {
  return {
    name,
    dims: [2],
    dataType: DataType.FLOAT,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '8' },
    ],
  };
}

const tensorAttr = (name: string, t: onnx.ITensorProto): onnx.IAttributeProto => ({
  name,
  type: AttributeType.TENSOR,
  t,
});
const graphAttr = (name: string, g: onnx.IGraphProto): onnx.IAttributeProto => ({ name, type: AttributeType.GRAPH, g });

/** x float32 [2] -> Neg -> y float32 [2]; `extra` replaces GraphProto fields. */
export function negGraph(extra: Partial<onnx.IGraphProto> = {}): onnx.IGraphProto {
  return {
    ...graph({
      name: 'neg',
      inputs: [tensorInfo('x', DataType.FLOAT, [2])],
      outputs: [tensorInfo('y', DataType.FLOAT, [2])],
      nodes: [node('Neg', ['x'], ['y'])],
    }),
    ...extra,
  };
}

const negModel = (extra: Partial<onnx.IGraphProto> = {}, model: Partial<onnx.IModelProto> = {}): Buffer =>
  encodeModelProto({ ...modelProto({ graph: negGraph(extra) }), ...model });

/** A branch with no inputs whose output comes from an initializer: out = Identity(init). */
function initializerBranch(name: string, init: onnx.ITensorProto): onnx.IGraphProto {
  return graph({
    name,
    inputs: [],
    outputs: [tensorInfo(`${name}_out`, DataType.FLOAT, [2])],
    initializers: [init],
    nodes: [node('Identity', [init.name ?? ''], [`${name}_out`])],
  });
}

/** cond bool [] -> If(then, else) -> y float32 [2]. */
function ifModel(thenBranch: onnx.IGraphProto, elseBranch: onnx.IGraphProto): Buffer {
  return encodeModelProto(
    modelProto({
      graph: graph({
        name: 'if_model',
        inputs: [tensorInfo('cond', DataType.BOOL, [])],
        outputs: [tensorInfo('y', DataType.FLOAT, [2])],
        nodes: [
          node('If', ['cond'], ['y'], [graphAttr('then_branch', thenBranch), graphAttr('else_branch', elseBranch)]),
        ],
      }),
    }),
  );
}

/** trip int64 [] -> Loop(body adds W to the carried value) -> y float32 [2]; W lives in the body. */
function loopModel(bodyInitializer: onnx.ITensorProto): Buffer {
  const body = graph({
    name: 'loop_body',
    inputs: [
      tensorInfo('i', DataType.INT64, []),
      tensorInfo('cond_in', DataType.BOOL, []),
      tensorInfo('carried', DataType.FLOAT, [2]),
    ],
    outputs: [tensorInfo('cond_out', DataType.BOOL, []), tensorInfo('carried_out', DataType.FLOAT, [2])],
    initializers: [bodyInitializer],
    nodes: [
      node('Identity', ['cond_in'], ['cond_out']),
      node('Add', ['carried', bodyInitializer.name ?? ''], ['carried_out']),
    ],
  });
  return encodeModelProto(
    modelProto({
      graph: graph({
        name: 'loop_model',
        inputs: [tensorInfo('trip', DataType.INT64, []), tensorInfo('x', DataType.FLOAT, [2])],
        outputs: [tensorInfo('y', DataType.FLOAT, [2])],
        nodes: [node('Loop', ['trip', '', 'x'], ['y'], [graphAttr('body', body)])],
      }),
    }),
  );
}

/** The graph calls local function MyNeg (domain local.fn); the function is given as raw FunctionProto bytes. */
function localFunctionModel(functionBytes: Uint8Array): Buffer {
  const head = encodeModelProto(
    modelProto({
      opsets: [
        { domain: '', version: OPSET_VERSION },
        { domain: 'local.fn', version: 1 },
      ],
      graph: negGraph({ node: [node('MyNeg', ['x'], ['y'], [], 'local.fn')] }),
    }),
  );
  return Buffer.concat([head, bytesField(25, functionBytes)]);
}

function myNegFunction(nodes: onnx.INodeProto[], opsets = [{ domain: '', version: OPSET_VERSION }]): Buffer {
  return Buffer.from(
    onnx.FunctionProto.encode({
      name: 'MyNeg',
      domain: 'local.fn',
      input: ['a'],
      output: ['b'],
      opsetImport: opsets,
      node: nodes,
    }).finish(),
  );
}

/**
 * `nestedIfModel(depth)`: If nodes nested `depth` levels deep through then_branch (3 messages a
 * level: GraphProto > NodeProto > AttributeProto). Written front to back from precomputed sizes,
 * so 10,000 levels take one buffer and no recursion.
 */
export function nestedIfModel(depth: number): Buffer {
  const innermost = encodeGraph({ name: 'leaf' });
  const attrHead = Buffer.concat([stringField(1, 'then_branch'), varintField(20, AttributeType.GRAPH)]);
  const nodeHead = stringField(4, 'If');
  const graphSizes = [innermost.length];
  const attrSizes: number[] = [0];
  const nodeSizes: number[] = [0];
  for (let level = 1; level <= depth; level++) {
    const inner = graphSizes[level - 1];
    attrSizes[level] = attrHead.length + 1 + varint(inner).length + inner;
    nodeSizes[level] = nodeHead.length + 1 + varint(attrSizes[level]).length + attrSizes[level];
    graphSizes[level] = 1 + varint(nodeSizes[level]).length + nodeSizes[level];
  }
  const parts: Buffer[] = [];
  for (let level = depth; level >= 1; level--) {
    parts.push(varint((1 << 3) | 2), varint(nodeSizes[level])); // GraphProto.node
    parts.push(nodeHead, varint((5 << 3) | 2), varint(attrSizes[level])); // NodeProto.attribute
    parts.push(attrHead, varint((6 << 3) | 2), varint(graphSizes[level - 1])); // AttributeProto.g
  }
  parts.push(innermost);
  return modelAround(Buffer.concat(parts));
}

// ---------------------------------------------------------------------------------------------------------------
// Models that must be ACCEPTED (controls)
// ---------------------------------------------------------------------------------------------------------------

/**
 * `unusedDomainModel()`: y = Neg(x), x float32 [2]; opset_import also declares org.pytorch.aten and
 * com.evil.custom, which no node uses (as PyTorch exports do). ONNX Runtime loads and runs it.
 */
export function unusedDomainModel(): Buffer {
  return negModel(
    {},
    {
      opsetImport: [
        { domain: '', version: OPSET_VERSION },
        { domain: 'org.pytorch.aten', version: 1 },
        { domain: 'com.evil.custom', version: 1 },
      ],
    },
  );
}

/** `uncalledForeignFunctionModel()`: y = Neg(x); a local function nobody calls uses a foreign domain. */
export function uncalledForeignFunctionModel(): Buffer {
  const fn = Buffer.from(
    onnx.FunctionProto.encode({
      name: 'Unused',
      domain: 'local.fn',
      input: ['a'],
      output: ['b'],
      opsetImport: [{ domain: 'com.evil.custom', version: 1 }],
      node: [node('EvilOp', ['a'], ['b'], [], 'com.evil.custom')],
    }).finish(),
  );
  return Buffer.concat([negModel(), bytesField(25, fn)]);
}

// ---------------------------------------------------------------------------------------------------------------
// The hostile corpus
// ---------------------------------------------------------------------------------------------------------------

const EXTERNAL = /stores its data outside the file \(data_location = EXTERNAL\)/;

function externalDataModels(): HostileModel[] {
  const ext = (name: string, bytes: Buffer, where: string): HostileModel => ({
    name: `external data: ${name}`,
    bytes,
    message: new RegExp(`${where}.*${EXTERNAL.source}`),
    stage: 'scan',
  });
  const sparse = (values: onnx.ITensorProto, indices: onnx.ITensorProto): onnx.ISparseTensorProto => ({
    dims: [4],
    values,
    indices,
  });
  const localIndices: onnx.ITensorProto = { name: 'idx', dims: [2], dataType: DataType.INT64, int64Data: [0, 3] };
  const local = (name: string): onnx.ITensorProto => floatInitializer(name, [2], [1, 2]);
  const externalFunctionDefault = Buffer.concat([
    myNegFunction([node('Neg', ['a'], ['b'])]),
    // FunctionProto.attribute_proto (11): a default attribute value; onnx-proto 1.10 does not know the field.
    bytesField(11, Buffer.from(onnx.AttributeProto.encode(tensorAttr('value', externalTensor('fn_default'))).finish())),
  ]);
  const training = (field: 'initialization' | 'algorithm', name: string): Buffer =>
    negModel(
      {},
      {
        trainingInfo: [
          {
            [field]: graph({
              name: `${field}_graph`,
              inputs: [],
              outputs: [tensorInfo(name, DataType.FLOAT, [2])],
              initializers: [externalTensor(name)],
              nodes: [],
            }),
          },
        ],
      },
    );
  return [
    ext('graph initializer', negModel({ initializer: [externalTensor('W')] }), "tensor 'W' in the graph "),
    ext(
      'graph initializer with external_data entries but data_location DEFAULT',
      negModel({
        initializer: [{ ...externalTensor('W_default'), dataLocation: onnx.TensorProto.DataLocation.DEFAULT }],
      }),
      "tensor 'W_default'",
    ),
    ext(
      'sparse initializer values',
      negModel({ sparseInitializer: [sparse(externalTensor('sparse_values'), localIndices)] }),
      "tensor 'sparse_values' in the graph ",
    ),
    ext(
      'sparse initializer indices',
      negModel({
        sparseInitializer: [sparse(local('sparse_v'), { ...externalTensor('sparse_idx'), dataType: DataType.INT64 })],
      }),
      "tensor 'sparse_idx'",
    ),
    ext(
      'Constant node value attribute',
      negModel({
        node: [node('Constant', [], ['c'], [tensorAttr('value', externalTensor('C'))]), node('Neg', ['c'], ['y'])],
      }),
      "tensor 'C' in the graph/Constant_c ",
    ),
    ext(
      'Constant node sparse_value attribute',
      negModel({
        node: [
          node(
            'Constant',
            [],
            ['c'],
            [
              {
                name: 'sparse_value',
                type: AttributeType.SPARSE_TENSOR,
                sparseTensor: sparse(externalTensor('SV'), localIndices),
              },
            ],
          ),
        ],
      }),
      "tensor 'SV'",
    ),
    ext(
      'tensors-list attribute',
      negModel({
        node: [
          node(
            'Neg',
            ['x'],
            ['y'],
            [{ name: 'extra', type: AttributeType.TENSORS, tensors: [local('ok'), externalTensor('T2')] }],
          ),
        ],
      }),
      "tensor 'T2' in the graph/Neg_y ",
    ),
    ext(
      'If then_branch subgraph initializer',
      ifModel(initializerBranch('then', externalTensor('then_W')), initializerBranch('else', local('else_W'))),
      "tensor 'then_W' in the graph/If_y ",
    ),
    ext('Loop body subgraph initializer', loopModel(externalTensor('body_W')), "tensor 'body_W' in the graph/Loop_y "),
    ext(
      'Constant node inside a local function',
      localFunctionModel(
        myNegFunction([
          node('Constant', [], ['c'], [tensorAttr('value', externalTensor('fn_const'))]),
          node('Add', ['a', 'c'], ['b']),
        ]),
      ),
      "tensor 'fn_const' in function 'MyNeg'/Constant_c ",
    ),
    ext(
      'default attribute value of a local function',
      localFunctionModel(externalFunctionDefault),
      "tensor 'fn_default' in function 'MyNeg' ",
    ),
    ext(
      'training_info initialization graph',
      training('initialization', 'init_W'),
      "tensor 'init_W' in training_info\\[0\\] initialization graph ",
    ),
    ext(
      'training_info algorithm graph',
      training('algorithm', 'algo_W'),
      "tensor 'algo_W' in training_info\\[0\\] algorithm graph ",
    ),
    ext(
      'graph field given twice (ONNX Runtime merges both; a decoder keeping the last sees a clean graph)',
      Buffer.concat([
        encodeModelProto(modelProto({})),
        bytesField(7, encodeGraph({ initializer: [externalTensor('merged_W', 'weights.bin')] })),
        bytesField(7, encodeGraph(negGraph())),
      ]),
      "tensor 'merged_W' in the graph ",
    ),
  ];
}

function smuggledFieldModels(): HostileModel[] {
  const payload = encodeTensor(externalTensor('smuggled'));
  const smuggledNode = Buffer.concat([encodeNode(node('Neg', ['x'], ['y'])), bytesField(99, payload)]);
  return [
    {
      name: 'unknown field carrying a TensorProto in a GraphProto',
      bytes: modelAround(Buffer.concat([encodeGraph(negGraph()), bytesField(99, payload)])),
      message: /^GraphProto in the graph holds field 99, which the ONNX format does not define/,
      stage: 'scan',
    },
    {
      name: 'unknown field carrying a TensorProto in a NodeProto',
      bytes: modelAround(Buffer.concat([encodeGraph(negGraph({ node: [] })), bytesField(1, smuggledNode)])),
      message: /^NodeProto in the graph\/Neg_y holds field 99, which the ONNX format does not define/,
      stage: 'scan',
    },
    {
      name: 'unknown field carrying a TensorProto at the top level',
      bytes: Buffer.concat([negModel(), bytesField(99, payload)]),
      message: /^not an ONNX model: ModelProto has no field 99/,
      stage: 'scan',
    },
    {
      name: 'a known field with the wrong wire type (GraphProto.initializer as a varint)',
      bytes: modelAround(Buffer.concat([encodeGraph(negGraph()), varintField(5, 1)])),
      message:
        /^GraphProto\.initializer is encoded with wire type 0, which the ONNX format does not use for it \(in the graph\)/,
      stage: 'scan',
    },
  ];
}

function foreignDomainModels(): HostileModel[] {
  return [
    {
      name: 'a node using a foreign operator domain',
      bytes: unknownDomainModel(),
      message:
        /^node 'EvilOp_y' in the graph uses operator EvilOp from domain 'com\.evil\.custom', which ONNX Runtime does not ship$/,
      stage: 'scan',
    },
    {
      name: 'a local function called by the graph using a foreign operator domain',
      bytes: localFunctionModel(
        myNegFunction(
          [node('EvilOp', ['a'], ['b'], [], 'com.evil.custom')],
          [
            { domain: '', version: OPSET_VERSION },
            { domain: 'com.evil.custom', version: 1 },
          ],
        ),
      ),
      message: /^function 'MyNeg' uses operator EvilOp from unsupported domain 'com\.evil\.custom'$/,
      stage: 'scan',
    },
  ];
}

function malformedModels(): HostileModel[] {
  const random = seededRandom(8);
  const mlp = mlpModel();
  return [
    {
      name: 'subgraphs nested 10,000 levels deep',
      bytes: nestedIfModel(10_000),
      message: /^the model nests messages more than 100 levels deep/,
      stage: 'scan',
    },
    {
      name: 'a truncated model (first half of its bytes)',
      bytes: mlp.subarray(0, Math.floor(mlp.length / 2)),
      message: /^not an ONNX model: the bytes do not decode as a ModelProto \(truncated or another format\)/,
      stage: 'scan',
    },
    {
      name: 'garbage bytes',
      bytes: Buffer.from(Array.from({ length: 512 }, () => Math.floor((random() + 1) * 128))),
      message: /^not an ONNX model/,
      stage: 'scan',
    },
    { name: 'an empty file', bytes: Buffer.alloc(0), message: /^the file is empty$/, stage: 'scan' },
  ];
}

/** `hugeStaticInputModel()`: Identity on x float32 [2048, 2048], 4,194,304 elements a warm-up must synthesize. */
export function hugeStaticInputModel(): Buffer {
  return identityModel(DataType.FLOAT, { dims: [2048, 2048] });
}

/** Every hostile model, each refused with 422 under the default WARMUP_MAX_ELEMENTS (1,000,000). */
export function hostileModels(): HostileModel[] {
  return [
    ...externalDataModels(),
    ...smuggledFieldModels(),
    ...foreignDomainModels(),
    ...malformedModels(),
    {
      name: 'a fixed input shape too large to warm up (2048 x 2048)',
      bytes: hugeStaticInputModel(),
      message: /input 'x'.*4194304 elements.*WARMUP_MAX_ELEMENTS \(1000000\)/,
      stage: 'warmup',
    },
  ];
}

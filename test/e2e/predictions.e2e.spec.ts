import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import {
  cnnModel,
  constantOfShapeModel,
  fixedShapeModel,
  float64Int32Uint8Int8Model,
  int64BoolModel,
  mlpModel,
  multiIoModel,
  scalarModel,
  seededRandom,
  stringModel,
} from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import {
  assertOutputsMatch,
  assertTensorMatches,
  JsonTensor,
  nest,
  referenceRun,
  releaseReferenceSessions,
} from '../support/reference-run';
import { authed, startTestApp, TestApp } from '../support/test-app';

/**
 * Nothing is in flight when a suite closes its app, so a short shutdown grace keeps closing fast
 * without changing what these tests observe.
 */
const APP_ENV = { SHUTDOWN_GRACE_MS: '1000' };

/** Relative tolerance for models whose kernels accumulate (Gemm, Conv, ReduceSum). */
const FLOAT_RTOL = 1e-5;
const EXACT = 0;

interface SpecJson {
  name: string;
  dtype: string;
  shape: number[];
  dimNames?: (string | null)[];
}

interface ModelCase {
  /** Registry name the model is uploaded to. */
  name: string;
  bytes: Buffer;
  /** The signature the upload must report. */
  inputs: SpecJson[];
  outputs: SpecJson[];
  /** Inputs of one prediction, in JSON form. */
  sample: Record<string, JsonTensor>;
  /** 0 where ONNX Runtime is deterministic (elementwise, identity). */
  rtol: number;
}

const spec = (name: string, dtype: string, shape: number[], dimNames?: (string | null)[]): SpecJson =>
  dimNames ? { name, dtype, shape, dimNames } : { name, dtype, shape };

const t32 = (shape: number[], data: number[]): JsonTensor => ({ dtype: 'float32', shape, data });

const CNN_SIZE = { height: 16, width: 32 };
const cnnRandom = seededRandom(42);
const cnnImage = Array.from(
  { length: 3 * CNN_SIZE.height * CNN_SIZE.width },
  () => Math.round(cnnRandom() * 1e4) / 1e4,
);

const CASES: ModelCase[] = [
  {
    name: 'mlp',
    bytes: mlpModel(),
    inputs: [spec('x', 'float32', [-1, 4], ['batch', null])],
    outputs: [spec('y', 'float32', [-1, 3], ['batch', null])],
    sample: { x: t32([2, 4], [0.5, -1.25, 3, 0.1, -0.7, 2.2, 0, 1.9]) },
    rtol: FLOAT_RTOL,
  },
  {
    name: 'multi-io',
    bytes: multiIoModel(),
    inputs: [spec('a', 'float32', [-1, 3], ['N', null]), spec('b', 'float32', [-1, 3], ['N', null])],
    outputs: [
      spec('sum', 'float32', [-1, 3], ['N', null]),
      spec('product', 'float32', [-1, 3], ['N', null]),
      spec('total', 'float32', [-1], ['N']),
    ],
    sample: { a: t32([2, 3], [1, 2, 3, 0.25, -4, 8]), b: t32([2, 3], [10, 20, 30, 0.5, 0.5, -2]) },
    rtol: FLOAT_RTOL,
  },
  {
    name: 'int64-bool',
    bytes: int64BoolModel(),
    inputs: [spec('ids', 'int64', [-1, 4], ['N', null]), spec('mask', 'bool', [-1, 4], ['N', null])],
    outputs: [spec('masked', 'int64', [-1, 4], ['N', null]), spec('count', 'int64', [-1], ['N'])],
    sample: {
      ids: {
        dtype: 'int64',
        shape: [2, 4],
        data: ['9007199254740993', '-9223372036854775808', 42, '9223372036854775807', 1, -2, 3, '-4'],
      },
      mask: { dtype: 'bool', shape: [2, 4], data: [true, true, false, true, false, true, true, false] },
    },
    rtol: EXACT,
  },
  {
    name: 'scalar',
    bytes: scalarModel(),
    inputs: [spec('x', 'float32', []), spec('v', 'float32', [3])],
    outputs: [spec('y', 'float32', [3])],
    sample: { x: t32([], [2.5]), v: t32([3], [1, -2, 0.5]) },
    rtol: EXACT,
  },
  {
    name: 'fixed-shape',
    bytes: fixedShapeModel(),
    inputs: [spec('x', 'float32', [2, 3])],
    outputs: [spec('y', 'float32', [2, 3])],
    sample: { x: t32([2, 3], [1, -2, 3.5, 0, 5, -6.25]) },
    rtol: EXACT,
  },
  {
    name: 'cnn',
    bytes: cnnModel(CNN_SIZE),
    inputs: [spec('image', 'float32', [-1, 3, CNN_SIZE.height, CNN_SIZE.width], ['batch', null, null, null])],
    outputs: [spec('logits', 'float32', [-1, 10], ['batch', null])],
    sample: { image: t32([1, 3, CNN_SIZE.height, CNN_SIZE.width], cnnImage) },
    rtol: FLOAT_RTOL,
  },
  {
    name: 'strings',
    bytes: stringModel(),
    inputs: [spec('s', 'string', [-1], ['N'])],
    outputs: [spec('s_out', 'string', [-1], ['N'])],
    sample: { s: { dtype: 'string', shape: [5], data: ['hello', '', 'héllo wörld', '🙂 emoji', 'tab\tand "quotes"'] } },
    rtol: EXACT,
  },
  {
    name: 'dtypes',
    bytes: float64Int32Uint8Int8Model(),
    inputs: [
      spec('f64', 'float64', [-1], ['N']),
      spec('i32', 'int32', [-1], ['N']),
      spec('u8', 'uint8', [-1], ['N']),
      spec('i8', 'int8', [-1], ['N']),
    ],
    outputs: [
      spec('f64_out', 'float64', [-1], ['N']),
      spec('i32_out', 'int32', [-1], ['N']),
      spec('u8_out', 'uint8', [-1], ['N']),
      spec('i8_out', 'int8', [-1], ['N']),
    ],
    sample: {
      f64: { dtype: 'float64', shape: [4], data: [0.1, -1e300, Math.PI, 5e-324] },
      i32: { dtype: 'int32', shape: [4], data: [-2147483648, 2147483647, 0, 7] },
      u8: { dtype: 'uint8', shape: [4], data: [0, 255, 1, 128] },
      i8: { dtype: 'int8', shape: [4], data: [-128, 127, 0, -1] },
    },
    rtol: EXACT,
  },
];

const caseNamed = (name: string): ModelCase => {
  const found = CASES.find((c) => c.name === name);
  if (!found) throw new Error(`no test case ${name}`);
  return found;
};

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Inputs as nested arrays (a rank-0 input becomes a bare scalar). */
const nestedInputs = (sample: Record<string, JsonTensor>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(sample).map(([name, t]) => [name, nest(t.data, t.shape)]));

/** Inputs as `{shape, data}`, with the dtype when asked. */
const explicitInputs = (sample: Record<string, JsonTensor>, withDtype = false): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(sample).map(([name, t]) => [
      name,
      withDtype ? { shape: t.shape, data: t.data, dtype: t.dtype } : { shape: t.shape, data: t.data },
    ]),
  );

type Http = () => ReturnType<typeof request>;

function uploadVersion(http: Http, name: string, bytes: Buffer) {
  return http().post(`/api/v1/models/${name}/versions`).attach('file', bytes, 'model.onnx');
}

function assertUploaded(res: request.Response, c: { name: string; bytes: Buffer }, version: number): void {
  assert.equal(res.status, 201, `upload answered ${res.status}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.model, c.name);
  assert.equal(res.body.version, version);
  assert.equal(res.body.status, 'ready');
  assert.equal(res.body.irVersion, 8);
  assert.equal(res.body.opsetVersion, 17);
  assert.equal(res.body.producerName, 'modelforge-tests');
  assert.equal(res.body.producerVersion, '1');
  assert.equal(res.body.sizeBytes, c.bytes.length);
  assert.equal(res.body.sha256, sha256(c.bytes));
}

function assertErrorBody(res: request.Response, status: number): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.statusCode, status);
  assert.equal(typeof res.body.error, 'string');
  assert.equal(typeof res.body.message, 'string');
  assert.ok(res.headers['x-request-id'], 'X-Request-Id header');
  assert.equal(res.body.requestId, res.headers['x-request-id']);
  assert.ok(!JSON.stringify(res.body).includes('    at '), 'no stack trace in an error body');
}

describe('predictions over HTTP: model matrix on sqlite', () => {
  let t: TestApp;
  const http: Http = () => authed(t);
  const predict = (body: Record<string, unknown>) => http().post('/api/v1/predictions').send(body);

  before(async () => {
    t = await startTestApp('sqlite', { env: { ...APP_ENV, INFERENCE_WORKERS: '2' } });
    for (const c of CASES) await http().post('/api/v1/models').send({ name: c.name }).expect(201);
  });
  after(async () => {
    await t?.close();
    await releaseReferenceSessions();
  });

  describe('upload of each test model', () => {
    for (const c of CASES) {
      it(`uploads ${c.name} and answers 201 with its signature and file metadata`, async () => {
        const res = await uploadVersion(http, c.name, c.bytes);
        assertUploaded(res, c, 1);
        assert.deepEqual(res.body.inputs, c.inputs);
        assert.deepEqual(res.body.outputs, c.outputs);
      });
    }
  });

  describe('outputs equal a direct onnxruntime-node run', () => {
    for (const c of CASES) {
      it(`${c.name}: nested arrays, {shape, data} and {shape, data, dtype} give the reference outputs`, async () => {
        const expected = await referenceRun(c.bytes, c.sample);
        const nested = await predict({ model: c.name, inputs: nestedInputs(c.sample) });
        assert.equal(nested.status, 200, JSON.stringify(nested.body));
        assertOutputsMatch(nested.body.outputs, expected, { rtol: c.rtol });

        const explicit = await predict({ model: c.name, inputs: explicitInputs(c.sample) });
        assert.equal(explicit.status, 200, JSON.stringify(explicit.body));
        assert.deepEqual(explicit.body.outputs, nested.body.outputs, '{shape, data} gives the nested-array outputs');

        const typed = await predict({ model: c.name, inputs: explicitInputs(c.sample, true) });
        assert.equal(typed.status, 200, JSON.stringify(typed.body));
        assert.deepEqual(typed.body.outputs, nested.body.outputs, '{shape, data, dtype} gives the same outputs');
      });
    }
  });

  describe('value encodings', () => {
    it('passes int64 decimal strings beyond 2^53 through exactly and counts bool masks', async () => {
      const res = await predict({
        model: 'int64-bool',
        inputs: {
          ids: [
            ['9007199254740993', '-9223372036854775808', 42, '9223372036854775807'],
            [1, -2, 3, '-4'],
          ],
          mask: [
            [true, true, false, true],
            [false, true, true, false],
          ],
        },
      }).expect(200);
      assert.deepEqual(res.body.outputs.masked, {
        dtype: 'int64',
        shape: [2, 4],
        data: ['9007199254740993', '-9223372036854775808', 0, '9223372036854775807', 0, -2, 3, 0],
      });
      assert.deepEqual(res.body.outputs.count, { dtype: 'int64', shape: [2], data: [3, 2] });
    });

    it('accepts a rank-0 input as a bare number', async () => {
      const res = await predict({ model: 'scalar', inputs: { x: 2.5, v: [1, -2, 0.5] } }).expect(200);
      assert.deepEqual(res.body.outputs.y, { dtype: 'float32', shape: [3], data: [2.5, -5, 1.25] });
      const explicit = await predict({
        model: 'scalar',
        inputs: { x: { shape: [], data: [2.5] }, v: [1, -2, 0.5] },
      }).expect(200);
      assert.deepEqual(explicit.body.outputs, res.body.outputs);
    });

    it('round-trips string tensors, empty and non-ASCII strings included', async () => {
      const s = ['hello', '', 'héllo wörld', '🙂 emoji', 'tab\tand "quotes"'];
      const res = await predict({ model: 'strings', inputs: { s } }).expect(200);
      assert.deepEqual(res.body.outputs.s_out, { dtype: 'string', shape: [5], data: s });
    });

    it('keeps float64, int32, uint8 and int8 values at their range limits exactly', async () => {
      const c = caseNamed('dtypes');
      const res = await predict({ model: 'dtypes', inputs: nestedInputs(c.sample) }).expect(200);
      for (const [name, tensor] of Object.entries(c.sample)) {
        assert.deepEqual(res.body.outputs[`${name}_out`], tensor, `${name}_out`);
      }
    });
  });

  describe('response contract', () => {
    it('answers the documented body with X-Cache MISS, X-Model-Version, X-Request-Id and timings', async () => {
      // Inputs sent nowhere else in this file, so no cache may answer them.
      const inputs = { x: [[0.123, 4.56, -7.89, 0.001]] };
      const res = await predict({ model: 'mlp', inputs }).expect(200);
      assert.match(res.headers['content-type'], /application\/json/);
      assert.deepEqual(Object.keys(res.body).sort(), ['cached', 'model', 'outputs', 'timing', 'version']);
      assert.equal(res.body.model, 'mlp');
      assert.equal(res.body.version, 1);
      assert.equal(res.body.cached, false);
      assert.equal(res.headers['x-cache'], 'MISS');
      assert.equal(res.headers['x-model-version'], '1');
      assert.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/);
      assert.deepEqual(Object.keys(res.body.outputs), ['y']);
      assert.deepEqual(Object.keys(res.body.outputs.y).sort(), ['data', 'dtype', 'shape']);
      assert.deepEqual(Object.keys(res.body.timing).sort(), ['inferenceMs', 'totalMs']);
      const { totalMs, inferenceMs } = res.body.timing;
      assert.equal(typeof totalMs, 'number');
      assert.equal(typeof inferenceMs, 'number');
      assert.ok(Number.isFinite(totalMs) && totalMs >= 0, `totalMs ${totalMs}`);
      assert.ok(Number.isFinite(inferenceMs) && inferenceMs >= 0, `inferenceMs ${inferenceMs}`);
      assert.ok(inferenceMs <= totalMs, `inferenceMs ${inferenceMs} is part of totalMs ${totalMs}`);
    });

    it('echoes a client X-Request-Id', async () => {
      const res = await http()
        .post('/api/v1/predictions')
        .set('X-Request-Id', 'predict-req-1')
        .send({ model: 'mlp', inputs: { x: [[1, 2, 3, 4]] } })
        .expect(200);
      assert.equal(res.headers['x-request-id'], 'predict-req-1');
    });

    it('batch of 5 in one request equals five single-row predictions', async () => {
      const random = seededRandom(5);
      const rows = Array.from({ length: 5 }, () => Array.from({ length: 4 }, () => Math.round(random() * 1000) / 100));
      const batch = await predict({ model: 'mlp', inputs: { x: rows } }).expect(200);
      assert.deepEqual(batch.body.outputs.y.shape, [5, 3]);
      const expected = await referenceRun(caseNamed('mlp').bytes, { x: t32([5, 4], rows.flat()) });
      assertOutputsMatch(batch.body.outputs, expected, { rtol: FLOAT_RTOL });
      for (let i = 0; i < rows.length; i++) {
        const single = await predict({ model: 'mlp', inputs: { x: [rows[i]] } }).expect(200);
        const row = { dtype: 'float32', shape: [1, 3], data: batch.body.outputs.y.data.slice(i * 3, i * 3 + 3) };
        assertTensorMatches(single.body.outputs.y, row, `row ${i}`, { rtol: FLOAT_RTOL });
      }
    });
  });

  describe('versions and output selection', () => {
    const v2 = mlpModel({ seed: 2 });
    const sample = { x: t32([1, 4], [1, 0.5, -0.25, 2]) };

    it('uploads a second MLP version', async () => {
      const res = await uploadVersion(http, 'mlp', v2);
      assertUploaded(res, { name: 'mlp', bytes: v2 }, 2);
    });

    it('runs the latest version when version is omitted', async () => {
      const res = await predict({ model: 'mlp', inputs: nestedInputs(sample) }).expect(200);
      assert.equal(res.body.version, 2);
      assert.equal(res.headers['x-model-version'], '2');
      assertOutputsMatch(res.body.outputs, await referenceRun(v2, sample), { rtol: FLOAT_RTOL });
    });

    it('runs an explicit older version', async () => {
      const res = await predict({ model: 'mlp', version: 1, inputs: nestedInputs(sample) }).expect(200);
      assert.equal(res.body.version, 1);
      assert.equal(res.headers['x-model-version'], '1');
      const v1 = await referenceRun(caseNamed('mlp').bytes, sample);
      assertOutputsMatch(res.body.outputs, v1, { rtol: FLOAT_RTOL });
      const v2Outputs = await referenceRun(v2, sample);
      assert.notDeepEqual(v1.y.data, v2Outputs.y.data, 'the two versions differ, so the test can tell them apart');
    });

    it('returns only the requested outputs', async () => {
      const c = caseNamed('multi-io');
      const one = await predict({ model: c.name, inputs: nestedInputs(c.sample), outputs: ['sum'] }).expect(200);
      assertOutputsMatch(one.body.outputs, await referenceRun(c.bytes, c.sample, ['sum']), { rtol: FLOAT_RTOL });
      assert.deepEqual(Object.keys(one.body.outputs), ['sum']);
      const two = await predict({
        model: c.name,
        inputs: nestedInputs(c.sample),
        outputs: ['total', 'product'],
      }).expect(200);
      assert.deepEqual(Object.keys(two.body.outputs).sort(), ['product', 'total']);
      assertOutputsMatch(two.body.outputs, await referenceRun(c.bytes, c.sample, ['total', 'product']), {
        rtol: FLOAT_RTOL,
      });
    });

    it('answers 400 naming an unknown output', async () => {
      const c = caseNamed('multi-io');
      const res = await predict({ model: c.name, inputs: nestedInputs(c.sample), outputs: ['sum', 'nope'] });
      assertErrorBody(res, 400);
      assert.match(res.body.message, /nope/);
      assert.match(res.body.message, /not outputs? of this model/);
      assert.deepEqual(
        res.body.details.map((d: { field: string }) => d.field),
        ['outputs.nope'],
      );
    });
  });

  describe('400 naming the input and the problem', () => {
    const x14 = [[1, 2, 3, 4]];
    const cases: Array<{ title: string; body: Record<string, unknown>; message: RegExp; fields?: string[] }> = [
      {
        title: 'a missing input',
        body: { model: 'multi-io', inputs: { a: [[1, 2, 3]] } },
        message: /inputs\.b is missing: the model expects float32 \[-1, 3\]/,
        fields: ['inputs.b'],
      },
      {
        title: 'an unknown input',
        body: { model: 'mlp', inputs: { x: x14, z: [1] } },
        message: /inputs\.z is not an input of this model; its inputs are x/,
        fields: ['inputs.z'],
      },
      {
        title: 'every problem at once (unknown and missing)',
        body: { model: 'multi-io', inputs: { c: [[1, 2, 3]] } },
        message: /inputs\.c is not an input.*inputs\.a is missing.*inputs\.b is missing/,
        fields: ['inputs.c', 'inputs.a', 'inputs.b'],
      },
      {
        title: 'a nested array that is not rectangular',
        body: {
          model: 'mlp',
          inputs: {
            x: [
              [1, 2, 3, 4],
              [5, 6, 7],
            ],
          },
        },
        message: /inputs\.x is not rectangular/,
        fields: ['inputs.x'],
      },
      {
        title: 'a wrong rank',
        body: { model: 'mlp', inputs: { x: [1, 2, 3, 4] } },
        message: /inputs\.x has rank 1 .*expects rank 2/,
        fields: ['inputs.x'],
      },
      {
        title: 'an array for a rank-0 input',
        body: { model: 'scalar', inputs: { x: [2.5], v: [1, 2, 3] } },
        message: /inputs\.x has rank 1 .*expects rank 0/,
        fields: ['inputs.x'],
      },
      {
        title: 'a fixed dimension mismatch (expected vs got)',
        body: { model: 'fixed-shape', inputs: { x: [[1, 2, 3]] } },
        message: /inputs\.x has shape \[1, 3\] but the model expects \[2, 3\]: dimension 0 must be 2, got 1/,
        fields: ['inputs.x'],
      },
      {
        title: 'a fixed feature dimension behind a dynamic batch',
        body: { model: 'mlp', inputs: { x: [[1, 2, 3, 4, 5]] } },
        message: /inputs\.x .*dimension 1 must be 4, got 5/,
        fields: ['inputs.x'],
      },
      {
        title: 'an element count that does not fit the shape',
        body: { model: 'mlp', inputs: { x: { shape: [1, 4], data: [1, 2, 3] } } },
        message: /inputs\.x has 3 values but shape \[1, 4\] needs 4/,
        fields: ['inputs.x'],
      },
      {
        title: 'a non-integer for int64',
        body: { model: 'int64-bool', inputs: { ids: [[1, 1.5, 3, 4]], mask: [[true, true, true, true]] } },
        message: /inputs\.ids value 1\.5 at flat index 1 is not representable as int64/,
        fields: ['inputs.ids'],
      },
      {
        title: 'an int64 JSON number beyond 2^53 (must be a decimal string)',
        body: { model: 'int64-bool', inputs: { ids: [[2 ** 53 + 2, 0, 0, 0]], mask: [[true, true, true, true]] } },
        message: /inputs\.ids value 9007199254740994 at flat index 0 is not representable as int64/,
        fields: ['inputs.ids'],
      },
      {
        title: 'an int64 decimal string beyond 2^63 - 1',
        body: {
          model: 'int64-bool',
          inputs: { ids: [['9223372036854775808', 0, 0, 0]], mask: [[true, true, true, true]] },
        },
        message: /inputs\.ids value "9223372036854775808" at flat index 0 is not representable as int64/,
        fields: ['inputs.ids'],
      },
      {
        title: 'a number for bool',
        body: { model: 'int64-bool', inputs: { ids: [[1, 2, 3, 4]], mask: [[1, 0, 1, 0]] } },
        message: /inputs\.mask value 1 at flat index 0 is not representable as bool/,
        fields: ['inputs.mask'],
      },
      {
        title: 'a string for float32',
        body: { model: 'mlp', inputs: { x: [[1, 'abc', 3, 4]] } },
        message: /inputs\.x value "abc" at flat index 1 is not representable as float32/,
        fields: ['inputs.x'],
      },
      {
        title: 'values outside the uint8 and int8 ranges',
        body: { model: 'dtypes', inputs: { f64: [1], i32: [1], u8: [256], i8: [-129] } },
        message: /inputs\.u8 value 256 .*not representable as uint8.*inputs\.i8 value -129 .*not representable as int8/,
        fields: ['inputs.u8', 'inputs.i8'],
      },
      {
        title: 'a float beyond the float32 range',
        body: { model: 'mlp', inputs: { x: [[1e39, 0, 0, 0]] } },
        message: /inputs\.x value 1e\+39 at flat index 0 is not representable as float32/,
        fields: ['inputs.x'],
      },
      {
        title: 'a null element',
        body: { model: 'mlp', inputs: { x: [[1, 2, null, 4]] } },
        message: /inputs\.x value null at flat index 2 is not representable as float32/,
        fields: ['inputs.x'],
      },
      {
        title: 'a number for a string tensor',
        body: { model: 'strings', inputs: { s: ['a', 1] } },
        message: /inputs\.s value 1 at flat index 1 is not representable as string/,
        fields: ['inputs.s'],
      },
      {
        title: 'a dtype that does not match the model',
        body: { model: 'mlp', inputs: { x: { shape: [1, 4], data: [1, 2, 3, 4], dtype: 'float64' } } },
        message: /inputs\.x was sent as "float64" but the model expects float32/,
        fields: ['inputs.x'],
      },
      {
        title: 'an object that is not {shape, data}',
        body: { model: 'mlp', inputs: { x: { shape: [1, 4] } } },
        message: /inputs\.x must be a nested array, a scalar, or \{shape, data\}/,
        fields: ['inputs.x'],
      },
    ];
    for (const c of cases) {
      it(`answers 400 for ${c.title}`, async () => {
        const res = await predict(c.body);
        assertErrorBody(res, 400);
        assert.equal(res.body.error, 'Bad Request');
        assert.match(res.body.message, c.message);
        if (c.fields) {
          assert.deepEqual(
            res.body.details.map((d: { field: string }) => d.field),
            c.fields,
          );
        }
      });
    }
  });

  describe('400 for a malformed request body', () => {
    const cases: Array<{ title: string; body: Record<string, unknown>; message: RegExp }> = [
      {
        title: 'an unknown body field',
        body: { model: 'mlp', inputs: { x: [[1, 2, 3, 4]] }, foo: 1 },
        message: /property foo should not exist/,
      },
      { title: 'missing inputs', body: { model: 'mlp' }, message: /inputs/ },
      { title: 'inputs that are an array', body: { model: 'mlp', inputs: [[1, 2, 3, 4]] }, message: /inputs/ },
      {
        title: 'an invalid model name',
        body: { model: 'Not A Name', inputs: { x: [[1, 2, 3, 4]] } },
        message: /model must match \^\[a-z0-9\]/,
      },
      { title: 'version 0', body: { model: 'mlp', version: 0, inputs: { x: [[1, 2, 3, 4]] } }, message: /version/ },
      {
        title: 'a version given as a string',
        body: { model: 'mlp', version: '1', inputs: { x: [[1, 2, 3, 4]] } },
        message: /version/,
      },
    ];
    for (const c of cases) {
      it(`answers 400 for ${c.title}`, async () => {
        const res = await predict(c.body);
        assertErrorBody(res, 400);
        assert.match(res.body.message, c.message);
      });
    }

    it('treats version: null as omitted (latest) or answers 400 naming version, never 500', async () => {
      const res = await predict({ model: 'mlp', version: null, inputs: { x: [[1, 2, 3, 4]] } });
      assert.notEqual(res.status, 500, `version: null must not be a server error: ${JSON.stringify(res.body)}`);
      if (res.status === 200) {
        assert.equal(res.body.version, 2, 'null runs the latest version, as an omitted version does');
      } else {
        assertErrorBody(res, 400);
        assert.match(res.body.message, /version/);
      }
    });
  });

  describe('404 and the resolution of model and version', () => {
    it('answers 404 for an unknown model', async () => {
      const res = await predict({ model: 'ghost', inputs: { x: [[1, 2, 3, 4]] } });
      assertErrorBody(res, 404);
      assert.match(res.body.message, /Model 'ghost' does not exist/);
    });

    it('answers 404 for an unknown version', async () => {
      const res = await predict({ model: 'mlp', version: 99, inputs: { x: [[1, 2, 3, 4]] } });
      assertErrorBody(res, 404);
      assert.match(res.body.message, /'mlp' has no version 99/);
    });

    it('answers 404 for a model without any version, saying it has no ready version', async () => {
      await http().post('/api/v1/models').send({ name: 'empty' }).expect(201);
      const res = await predict({ model: 'empty', inputs: { x: [[1, 2, 3, 4]] } });
      assertErrorBody(res, 404);
      assert.match(res.body.message, /no ready version/);
    });
  });
});

for (const engine of testEngines()) {
  describe(`predictions smoke on ${engine}`, () => {
    let t: TestApp;
    const http: Http = () => authed(t);
    const mlp = caseNamed('mlp');

    before(async () => {
      t = await startTestApp(engine, { env: { ...APP_ENV, INFERENCE_WORKERS: '1' } });
      await http().post('/api/v1/models').send({ name: 'iris' }).expect(201);
    });
    after(async () => {
      await t?.close();
      await releaseReferenceSessions();
    });

    it('uploads the MLP', async () => {
      const res = await uploadVersion(http, 'iris', mlp.bytes);
      assertUploaded(res, { name: 'iris', bytes: mlp.bytes }, 1);
      assert.deepEqual(res.body.inputs, mlp.inputs);
      assert.deepEqual(res.body.outputs, mlp.outputs);
    });

    it('predicts like onnxruntime-node on the same inputs', async () => {
      const res = await http()
        .post('/api/v1/predictions')
        .send({ model: 'iris', inputs: nestedInputs(mlp.sample) })
        .expect(200);
      assert.equal(res.body.version, 1);
      assert.equal(res.headers['x-model-version'], '1');
      assertOutputsMatch(res.body.outputs, await referenceRun(mlp.bytes, mlp.sample), { rtol: FLOAT_RTOL });
    });

    it('answers 400 naming a missing input', async () => {
      const res = await http().post('/api/v1/predictions').send({ model: 'iris', inputs: {} });
      assertErrorBody(res, 400);
      assert.match(res.body.message, /inputs\.x is missing/);
    });
  });
}

/** Error bodies stay small whatever the client sent (issue 8, finding 12). */
const MAX_ERROR_BODY_BYTES = 4096;
/** Bodies up to 16 KiB are parsed on the HTTP thread; larger ones in a worker. */
const INLINE_BODY_BYTES = 16 * 1024;
const OUTPUT_CAP = 1000;

function nestedText(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

for (const engine of testEngines()) {
  describe(`hostile inputs and the output cap on ${engine}`, () => {
    let t: TestApp;
    const http: Http = () => authed(t);
    /** A POST /api/v1/predictions; `cache: false` sends Cache-Control: no-cache (no prepare/execute split). */
    const post = (cache = true) => {
      const req = http().post('/api/v1/predictions');
      return cache ? req : req.set('Cache-Control', 'no-cache');
    };
    const predictText = (text: string, cache = true) => post(cache).set('Content-Type', 'application/json').send(text);

    before(async () => {
      t = await startTestApp(engine, {
        env: { ...APP_ENV, INFERENCE_WORKERS: '1', MAX_OUTPUT_ELEMENTS: String(OUTPUT_CAP) },
      });
      for (const [name, bytes] of [
        ['iris', caseNamed('mlp').bytes],
        ['grid', constantOfShapeModel()],
      ] as const) {
        await http().post('/api/v1/models').send({ name }).expect(201);
        assert.equal((await uploadVersion(http, name, bytes)).status, 201);
      }
    });
    after(async () => {
      await t?.close();
    });

    it('answers a rank-100,000 shape with a 400 under 4 KB that shows eight dimensions and the rank', async () => {
      const shape = new Array(100_000).fill(1);
      const res = await http()
        .post('/api/v1/predictions')
        .send({ model: 'iris', inputs: { x: { shape, data: [1] } } });
      assertErrorBody(res, 400);
      assert.ok(res.text.length < MAX_ERROR_BODY_BYTES, `error body of ${res.text.length} bytes`);
      assert.match(
        res.body.message,
        /inputs\.x has rank 100000 \(shape \[1, 1, 1, 1, 1, 1, 1, 1, … \(rank 100000\)\]\)/,
      );
    });

    for (const [path, depth] of [
      ['parsed on the HTTP thread', 7_000],
      ['parsed in a worker', 100_000],
    ] as const) {
      it(`answers inputs nested ${depth} levels deep (${path}) with a 400, not a 500`, async () => {
        const text = `{"model":"iris","inputs":{"x":${nestedText(depth)}}}`;
        assert.equal(text.length <= INLINE_BODY_BYTES, depth === 7_000, 'the body takes the intended path');
        for (const cache of [true, false]) {
          const res = await predictText(text, cache);
          assertErrorBody(res, 400);
          assert.ok(res.text.length < MAX_ERROR_BODY_BYTES, `error body of ${res.text.length} bytes`);
          assert.match(res.body.message, /inputs\.x is nested deeper than 64 levels/);
        }
      });
    }

    it('answers objects nested 2,500 levels deep inside an input (parsed on the HTTP thread) with a 400', async () => {
      const text = `{"model":"iris","inputs":{"x":${'{"a":'.repeat(2500)}1${'}'.repeat(2500)}}}`;
      assert.ok(text.length <= INLINE_BODY_BYTES);
      const res = await predictText(text);
      assertErrorBody(res, 400);
      assert.match(res.body.message, /inputs\.x is nested deeper than 64 levels/);
    });

    it('keeps serving after the hostile requests', async () => {
      await http()
        .post('/api/v1/predictions')
        .send({ model: 'iris', inputs: { x: [[1, 2, 3, 4]] } })
        .expect(200);
    });

    it(`returns outputs of exactly MAX_OUTPUT_ELEMENTS (${OUTPUT_CAP}) elements`, async () => {
      const res = await http()
        .post('/api/v1/predictions')
        .send({ model: 'grid', inputs: { shape: [10, 100] } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.outputs.y.shape, [10, 100]);
      assert.equal(res.body.outputs.y.data.length, OUTPUT_CAP);
    });

    for (const cache of [true, false]) {
      it(`answers 422 naming the output, its shape and MAX_OUTPUT_ELEMENTS past it (${cache ? 'cache' : 'no cache'})`, async () => {
        for (const shape of [
          [10, 101],
          [1000, 1000],
        ]) {
          const res = await post(cache).send({ model: 'grid', inputs: { shape }, outputs: ['y'] });
          assertErrorBody(res, 422);
          const count = shape[0] * shape[1];
          assert.equal(
            res.body.message,
            `Output 'y' has shape [${shape.join(', ')}] (${count} elements), over MAX_OUTPUT_ELEMENTS (${OUTPUT_CAP}); ` +
              'ask for fewer outputs (outputs: [...]) or send smaller inputs',
          );
          assert.deepEqual(res.body.details, [
            {
              field: 'outputs.y',
              problem: `has shape [${shape.join(', ')}] (${count} elements), over MAX_OUTPUT_ELEMENTS (${OUTPUT_CAP})`,
            },
          ]);
        }
      });
    }
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import type { TensorSpec } from '../../src/inference/tensor-spec';
import type { SchemaSource } from '../../src/models/prediction-request-schema';
import { bodyFor, schemaGap } from '../fuzz/prediction-schema-bodies';
import { runs } from '../fuzz/property-support';
import { toJsonText } from '../fuzz/json-text';
import { createKey } from '../support/audit-helpers';
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
  stringModel,
} from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { authed, startTestApp, TestApp } from '../support/test-app';

/**
 * Every test model that uploads, by registry name. constantOfShapeModel is left out: its input
 * is the shape of its output, so valid int64 values ask for outputs far past MAX_OUTPUT_ELEMENTS
 * (422), which no request schema can foresee.
 */
const MODELS: Record<string, Buffer> = {
  mlp: mlpModel(),
  'mlp-batch-2': mlpModel({ batch: 2 }),
  'multi-io': multiIoModel(),
  'int64-bool': int64BoolModel(),
  scalar: scalarModel(),
  'fixed-shape': fixedShapeModel(),
  cnn: cnnModel({ channels: 1, height: 4, width: 4, classes: 3 }),
  strings: stringModel(),
  dtypes: float64Int32Uint8Int8Model(),
  'identity-int16': identityModel(DataType.INT16),
  'identity-uint16': identityModel(DataType.UINT16, { dims: ['N', 2] }),
  'identity-uint32': identityModel(DataType.UINT32),
  'identity-uint64': identityModel(DataType.UINT64, { dims: [2, 'M'] }),
  'identity-int64-scalar': identityModel(DataType.INT64, { dims: [] }),
  'identity-bool': identityModel(DataType.BOOL, { dims: ['N', 'M', 2] }),
  'identity-float64': identityModel(DataType.DOUBLE, { dims: ['N', 'N'] }),
  'identity-float16': identityModel(DataType.FLOAT16),
};

/** Bodies per model: ~100 requests a model keep the file to seconds. */
const BODIES_PER_MODEL = 100;

interface VersionJson {
  version: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

for (const engine of testEngines()) {
  describe(`prediction request schema on ${engine}`, () => {
    let t: TestApp;
    const http = () => authed(t);
    const sources = new Map<string, SchemaSource>();

    before(async () => {
      t = await startTestApp(engine, { env: { SHUTDOWN_GRACE_MS: '1000' } });
      for (const [name, bytes] of Object.entries(MODELS)) {
        await http().post('/api/v1/models').send({ name }).expect(201);
        const res = await http().post(`/api/v1/models/${name}/versions`).attach('file', bytes, 'model.onnx');
        assert.equal(res.status, 201, `${name}: ${JSON.stringify(res.body)}`);
        const { version, inputs, outputs } = res.body as VersionJson;
        sources.set(name, { model: name, version, inputs, outputs });
      }
    });
    after(async () => {
      await t?.close();
    });

    it('answers 404 for an unknown model or version, 400 for a malformed version, 403 out of a key scope', async () => {
      const ghost = await http().get('/api/v1/models/ghost/versions/1/schema');
      assert.equal(ghost.status, 404);
      assert.match(String(ghost.body.message), /ghost/);
      const missing = await http().get('/api/v1/models/mlp/versions/9/schema');
      assert.equal(missing.status, 404);
      assert.match(String(missing.body.message), /9/);
      for (const version of ['0', 'abc', '1.0', '2147483648']) {
        await http().get(`/api/v1/models/mlp/versions/${version}/schema`).expect(400);
      }
      const scoped = await createKey(t, { name: 'scoped-viewer', role: 'viewer', models: ['mlp*'] });
      await authed(t, scoped.key).get('/api/v1/models/mlp/versions/1/schema').expect(200);
      const refused = await authed(t, scoped.key).get('/api/v1/models/scalar/versions/1/schema');
      assert.equal(refused.status, 403);
      assert.match(String(refused.body.message), /'scalar'/);
    });

    describe("a validator's verdict on generated bodies equals the server's", () => {
      for (const name of Object.keys(MODELS)) {
        it(`${name}`, async () => {
          const source = sources.get(name) as SchemaSource;
          const res = await http().get(`/api/v1/models/${name}/versions/${source.version}/schema`).expect(200);
          assert.match(res.headers['content-type'], /application\/json/);
          const validate = new Ajv2020({ strict: true }).compile(res.body as object);
          const verdicts = { accepted: 0, refused: 0, gaps: 0 };
          await fc.assert(
            fc.asyncProperty(bodyFor(source), async (body) => {
              const text = toJsonText(body.value);
              const parsed = JSON.parse(text) as { inputs?: unknown };
              const answer = await http()
                .post('/api/v1/predictions')
                .set('Content-Type', 'application/json')
                .send(text);
              const seen = `${body.label}: ${text.slice(0, 400)} -> ${answer.status} ${JSON.stringify(answer.body).slice(0, 400)}`;
              // What the schema's description says it cannot state: the server refuses these
              // bodies whatever the schema says, so they are left out of the comparison.
              if (schemaGap(source.inputs, parsed.inputs)) {
                verdicts.gaps++;
                assert.equal(answer.status, 400, seen);
                return;
              }
              const valid = validate(parsed);
              verdicts[valid ? 'accepted' : 'refused']++;
              assert.equal(answer.status, valid ? 200 : 400, seen);
            }),
            runs(BODIES_PER_MODEL),
          );
          // Both verdicts turn up (float16 inputs are refused outright), so agreement means something.
          if (name === 'identity-float16') assert.equal(verdicts.accepted, 0);
          else assert.ok(verdicts.accepted >= 10, JSON.stringify(verdicts));
          assert.ok(verdicts.refused >= 10, JSON.stringify(verdicts));
        });
      }
    });
  });
}

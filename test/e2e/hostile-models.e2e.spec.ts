import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostileModels, uncalledForeignFunctionModel, unusedDomainModel } from '../support/hostile-models';
import { testEngines } from '../support/postgres';
import { authed, listFiles, startTestApp, TestApp } from '../support/test-app';

/** The error body of docs/api.md, exactly. */
const ERROR_KEYS = ['error', 'message', 'requestId', 'statusCode'];

for (const engine of testEngines()) {
  describe(`hostile model uploads on ${engine}`, () => {
    let t: TestApp;
    const http = () => authed(t);
    const versionRows = async () => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM model_versions'))[0].n);
    const upload = (bytes: Buffer) => http().post('/api/v1/models/target/versions').attach('file', bytes, 'model.onnx');

    before(async () => {
      // WARMUP_MAX_ELEMENTS is left at its default (1,000,000), which the corpus assumes.
      t = await startTestApp(engine, { env: { INFERENCE_WORKERS: '1' } });
      await http().post('/api/v1/models').send({ name: 'target' }).expect(201);
    });
    after(async () => {
      await t?.close();
    });

    for (const model of hostileModels()) {
      it(`refuses ${model.name} with 422, leaving no row and no file`, async () => {
        const res = await upload(model.bytes).expect(422);
        assert.deepEqual(Object.keys(res.body).sort(), ERROR_KEYS);
        assert.equal(res.body.statusCode, 422);
        assert.match(res.body.message, model.message);
        assert.equal(await versionRows(), 0);
        // Staging files are removed before the 422 is sent: the upload was read to its end.
        assert.deepEqual(listFiles(path.join(t.dataDir, 'artifacts')), []);
      });
    }

    it('accepts a model declaring operator domains no node uses (org.pytorch.aten), and runs it', async () => {
      const res = await upload(unusedDomainModel()).expect(201);
      assert.equal(res.body.version, 1);
      const prediction = await http()
        .post('/api/v1/predictions')
        .send({ model: 'target', inputs: { x: [1, -2] } })
        .expect(200);
      assert.deepEqual(prediction.body.outputs.y, { dtype: 'float32', shape: [2], data: [-1, 2] });
    });

    it('accepts a model with a local function nobody calls, whatever its domain, and runs it', async () => {
      const res = await upload(uncalledForeignFunctionModel()).expect(201);
      assert.equal(res.body.version, 2);
      const prediction = await http()
        .post('/api/v1/predictions')
        .send({ model: 'target', version: 2, inputs: { x: [0.5, 3] } })
        .expect(200);
      assert.deepEqual(prediction.body.outputs.y.data, [-0.5, -3]);
    });

    it('is still live and ready after the whole corpus', async () => {
      await http().get('/health/live').expect(200);
      await http().get('/health/ready').expect(200);
    });
  });
}

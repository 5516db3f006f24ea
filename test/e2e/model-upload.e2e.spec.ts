import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import {
  cnnModel,
  externalDataModel,
  mlpModel,
  modelWithoutGraph,
  modelWithoutOpset,
  unknownDomainModel,
} from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { listFiles, startTestApp, TestApp } from '../support/test-app';

const MAX_MODEL_BYTES = 64 * 1024;

for (const engine of testEngines()) {
  describe(`model upload on ${engine}`, () => {
    let t: TestApp;
    const http = () => request(t.app.getHttpServer());
    const artifactFiles = () => listFiles(path.join(t.dataDir, 'artifacts'));
    const versionRows = async () => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM model_versions'))[0].n);

    before(async () => {
      t = await startTestApp(engine, { env: { MAX_MODEL_BYTES: String(MAX_MODEL_BYTES), INFERENCE_WORKERS: '1' } });
      await http().post('/api/v1/models').send({ name: 'target' }).expect(201);
    });
    after(async () => {
      await t?.close();
    });

    it('stores a valid model as version 1 with its metadata and serves its bytes back', async () => {
      const bytes = mlpModel();
      const res = await http()
        .post('/api/v1/models/target/versions')
        .field('description', 'first upload')
        .attach('file', bytes, 'mlp.onnx')
        .expect(201);
      assert.equal(res.body.version, 1);
      assert.equal(res.body.status, 'ready');
      assert.equal(res.body.description, 'first upload');
      assert.equal(res.body.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(res.body.sizeBytes, bytes.length);
      assert.deepEqual(res.body.inputs, [{ name: 'x', dtype: 'float32', shape: [-1, 4], dimNames: ['batch', null] }]);
      const file = await http()
        .get('/api/v1/models/target/versions/1/file')
        .buffer(true)
        .parse((response, done) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => done(null, Buffer.concat(chunks)));
        })
        .expect(200);
      assert.equal(file.headers['content-type'], 'application/octet-stream');
      assert.match(file.headers['content-disposition'], /target-v1\.onnx/);
      assert.ok(Buffer.compare(file.body as Buffer, bytes) === 0, 'downloaded bytes equal the upload');
      assert.equal((await http().get('/api/v1/models/target').expect(200)).body.latestVersion, 1);
    });

    const rejections: [string, () => request.Test, number, RegExp][] = [
      [
        'random bytes',
        () => upload(Buffer.from('definitely not a protobuf model, just text')),
        422,
        /not an ONNX model/,
      ],
      ['a truncated file', () => upload(mlpModel().subarray(0, 200)), 422, /not an ONNX model|no graph|cannot load/],
      ['an empty file', () => upload(Buffer.alloc(0)), 422, /empty/],
      ['an external-data tensor', () => upload(externalDataModel()), 422, /EXTERNAL/],
      ['an operator domain ONNX Runtime lacks', () => upload(unknownDomainModel()), 422, /com\.evil\.custom/],
      ['a model without a graph', () => upload(modelWithoutGraph()), 422, /no graph/],
      ['a model without opset imports', () => upload(modelWithoutOpset()), 422, /no opset/],
      [
        'a file over MAX_MODEL_BYTES',
        () => upload(cnnModel({ height: 16, width: 16, classes: 4000 })),
        413,
        /MAX_MODEL_BYTES/,
      ],
      [
        'a request without a file part',
        () => http().post('/api/v1/models/target/versions').field('description', 'x'),
        400,
        /No file part/,
      ],
      [
        'a JSON body',
        () => http().post('/api/v1/models/target/versions').send({ file: 'abc' }),
        415,
        /multipart\/form-data/,
      ],
      [
        'an unknown form field',
        () => http().post('/api/v1/models/target/versions').field('owner', 'me').attach('file', mlpModel(), 'm.onnx'),
        400,
        /Unknown form field 'owner'/,
      ],
      [
        'two file parts',
        () =>
          http()
            .post('/api/v1/models/target/versions')
            .attach('file', mlpModel(), 'a.onnx')
            .attach('other', mlpModel({ seed: 3 }), 'b.onnx'),
        400,
        /exactly one file/,
      ],
      [
        'an unknown model',
        () => http().post('/api/v1/models/ghost/versions').attach('file', mlpModel(), 'm.onnx'),
        404,
        /ghost/,
      ],
    ];

    function upload(bytes: Buffer): request.Test {
      return http().post('/api/v1/models/target/versions').attach('file', bytes, 'model.onnx');
    }

    for (const [what, send, status, message] of rejections) {
      it(`rejects ${what} with ${status} and leaves no row, no file and no staging file`, async () => {
        const rowsBefore = await versionRows();
        const filesBefore = artifactFiles();
        const res = await send().expect(status);
        assert.equal(res.body.statusCode, status);
        assert.match(res.body.message, message);
        assert.equal(typeof res.body.requestId, 'string');
        // A rejected upload may still be draining when the response is sent; give cleanup a moment.
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(await versionRows(), rowsBefore);
        assert.deepEqual(artifactFiles(), filesBefore);
        assert.ok(!artifactFiles().some((f) => f.startsWith('.staging')), 'no staging file left');
      });
    }

    it('keeps numbering after rejections: the next good upload is version 2', async () => {
      const res = await upload(mlpModel({ seed: 2 })).expect(201);
      assert.equal(res.body.version, 2);
    });

    it('stores identical bytes once and removes them with the last version using them', async () => {
      await http().post('/api/v1/models').send({ name: 'twin' }).expect(201);
      const bytes = mlpModel({ seed: 2 });
      const before = artifactFiles().length;
      const twin = await http().post('/api/v1/models/twin/versions').attach('file', bytes, 'm.onnx').expect(201);
      assert.equal(artifactFiles().length, before, 'no second copy');
      await http().delete('/api/v1/models/target/versions/2').expect(204);
      assert.equal(artifactFiles().length, before, 'still used by twin');
      await http().delete(`/api/v1/models/twin/versions/${twin.body.version}`).expect(204);
      assert.equal(artifactFiles().length, before - 1);
    });
  });
}

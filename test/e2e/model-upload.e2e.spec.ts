import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { hugeStaticInputModel } from '../support/hostile-models';
import {
  cnnModel,
  externalDataModel,
  mlpModel,
  modelWithoutGraph,
  modelWithoutOpset,
  unknownDomainModel,
} from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { authed, listFiles, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

const MAX_MODEL_BYTES = 64 * 1024;

interface HeldUpload {
  /** Sends the rest of the body; resolves with the response. */
  finish(): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Drops the connection mid-body, as a crashed client would. */
  abort(): void;
}

/**
 * A multipart upload whose body the test holds open: the part headers and the first half of the
 * file are sent, the rest only on `finish()`.
 */
function holdUpload(baseUrl: string, model: string, bytes: Buffer): HeldUpload {
  const boundary = 'modelforge-held-upload';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="held.onnx"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const req = http.request(`${baseUrl}/api/v1/models/${model}/versions`, {
    method: 'POST',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': head.length + bytes.length + tail.length,
      authorization: `Bearer ${TEST_ADMIN_KEY}`,
    },
  });
  const response = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
  });
  response.catch(() => undefined); // an aborted upload has no response
  const half = Math.floor(bytes.length / 2);
  req.write(Buffer.concat([head, bytes.subarray(0, half)]));
  return {
    finish: () => {
      req.end(Buffer.concat([bytes.subarray(half), tail]));
      return response;
    },
    abort: () => req.destroy(),
  };
}

for (const engine of testEngines()) {
  describe(`model upload on ${engine}`, () => {
    let t: TestApp;
    const http = () => authed(t);
    const artifactFiles = () => listFiles(path.join(t.dataDir, 'artifacts'));
    const stagingFiles = () => artifactFiles().filter((f) => f.startsWith('.staging'));
    const versionRows = async () => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM model_versions'))[0].n);

    before(async () => {
      t = await startTestApp(engine, {
        env: {
          MAX_MODEL_BYTES: String(MAX_MODEL_BYTES),
          INFERENCE_WORKERS: '1',
          MAX_CONCURRENT_UPLOADS: '1',
          WARMUP_MAX_ELEMENTS: String(2048 * 2048),
        },
        listen: true,
      });
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
        // Stored files only: staging is checked on its own, empty before and after.
        const storedFiles = () => artifactFiles().filter((f) => !f.startsWith('.staging'));
        await waitFor(() => stagingFiles().length === 0);
        const rowsBefore = await versionRows();
        const filesBefore = storedFiles();
        const res = await send().expect(status);
        assert.equal(res.body.statusCode, status);
        assert.match(res.body.message, message);
        assert.equal(typeof res.body.requestId, 'string');
        // A multipart error may answer before its staging file is removed: wait for that, not for a time.
        await waitFor(() => stagingFiles().length === 0);
        assert.equal(await versionRows(), rowsBefore);
        assert.deepEqual(storedFiles(), filesBefore);
      });
    }

    it('keeps numbering after rejections: the next good upload is version 2', async () => {
      const res = await upload(mlpModel({ seed: 2 })).expect(201);
      assert.equal(res.body.version, 2);
    });

    it('warms up within WARMUP_MAX_ELEMENTS from the config: a 2048 x 2048 input fits a budget of exactly that', async () => {
      const res = await upload(hugeStaticInputModel()).expect(201);
      assert.deepEqual(res.body.inputs, [{ name: 'x', dtype: 'float32', shape: [2048, 2048] }]);
      await http().delete(`/api/v1/models/target/versions/${res.body.version}`).expect(204);
    });

    it('refuses an upload past MAX_CONCURRENT_UPLOADS with 429 and Retry-After, before reading its body', async () => {
      const held = holdUpload(t.baseUrl as string, 'target', mlpModel({ seed: 5 }));
      try {
        await waitFor(() => stagingFiles().length === 1);
        const rowsBefore = await versionRows();
        const refused = await upload(mlpModel({ seed: 6 })).expect(429);
        assert.equal(refused.headers['retry-after'], '5');
        assert.deepEqual(Object.keys(refused.body).sort(), ['error', 'message', 'requestId', 'statusCode']);
        assert.match(refused.body.message, /MAX_CONCURRENT_UPLOADS/);
        assert.equal(stagingFiles().length, 1, 'the refused upload staged nothing');
        assert.equal(await versionRows(), rowsBefore);
      } catch (error) {
        held.abort(); // an open request would keep the app from closing
        throw error;
      }
      const finished = await held.finish();
      assert.equal(finished.status, 201);
      await upload(mlpModel({ seed: 6 })).expect(201);
    });

    it('frees the upload slot and the staging file when a client drops its connection mid-upload', async () => {
      const held = holdUpload(t.baseUrl as string, 'target', mlpModel({ seed: 7 }));
      await waitFor(() => stagingFiles().length === 1);
      held.abort();
      await waitFor(() => stagingFiles().length === 0);
      await upload(mlpModel({ seed: 7 })).expect(201);
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

for (const engine of testEngines()) {
  describe(`model upload with a nearly full data folder on ${engine}`, () => {
    let t: TestApp;
    const http = () => authed(t);

    before(async () => {
      // No disk has 8 PiB free: every upload must be refused before anything is written.
      t = await startTestApp(engine, { env: { INFERENCE_WORKERS: '1', MIN_FREE_DISK_BYTES: String(2 ** 53) } });
      await http().post('/api/v1/models').send({ name: 'target' }).expect(201);
    });
    after(async () => {
      await t?.close();
    });

    it('refuses with 507, leaving no row and no file', async () => {
      const res = await http()
        .post('/api/v1/models/target/versions')
        .attach('file', mlpModel(), 'mlp.onnx')
        .expect(507);
      assert.deepEqual(Object.keys(res.body).sort(), ['error', 'message', 'requestId', 'statusCode']);
      assert.match(res.body.message, /MIN_FREE_DISK_BYTES/);
      assert.equal(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM model_versions'))[0].n), 0);
      assert.deepEqual(listFiles(path.join(t.dataDir, 'artifacts')), []);
    });
  });

  describe(`staging folders swept at start on ${engine}`, () => {
    it('removes upload and job staging files untouched for over ten minutes, keeps fresh ones', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-sweep-e2e-'));
      const uploads = path.join(dataDir, 'artifacts', '.staging');
      const jobs = path.join(dataDir, 'jobs-staging');
      const write = (dir: string, name: string, ageMinutes: number): void => {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, name), 'left by a crash');
        const at = new Date(Date.now() - ageMinutes * 60_000);
        fs.utimesSync(path.join(dir, name), at, at);
      };
      write(uploads, 'crashed.part', 11);
      write(uploads, 'in-progress.part', 1);
      write(jobs, 'crashed.spool', 60);
      write(jobs, 'in-progress.spool', 0);
      const t = await startTestApp(engine, { env: { DATA_DIR: dataDir, INFERENCE_WORKERS: '1' } });
      try {
        assert.deepEqual(listFiles(uploads), ['in-progress.part']);
        assert.deepEqual(listFiles(jobs), ['in-progress.spool']);
      } finally {
        await t.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allResults, client, mlpInstances, submitJob, waitForJob } from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import { createModel, Http, predictReply, uploadVersion } from '../support/prediction-cache-helpers';
import { testEngines } from '../support/postgres';
import { assertOutputsMatch, JsonTensor, referenceRun } from '../support/reference-run';
import { startCuttingProxy, startS3Server, TestS3 } from '../support/s3-server';
import { freePort } from '../support/service-process';
import { anonymous, authed, listFiles, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * The registry, prediction and job scenarios with ARTIFACT_STORE=s3 against s3rver, on both
 * databases, and the store's faults: unreachable at start, failing in the middle of an upload,
 * and an object whose bytes no longer match its sha256. Replica `b` shares the database and the
 * bucket with `a` and starts with an empty artifact cache, so what it serves came from the bucket.
 */

const PREFIX = 'mf/';
const MLP = mlpModel({ seed: 3 });
const V1 = mlpModel({ seed: 1 });
const V2 = mlpModel({ seed: 2 });
/** Over one multipart part (8 MiB): W1 alone is 2560 x 1024 floats. */
const LARGE = mlpModel({ inputSize: 1024, hidden: 2560, seed: 4 });
const X = [[0.5, -1.25, 3, 0.1]];
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const objectKey = (bytes: Buffer): string => `${PREFIX}sha256/${sha256(bytes).slice(0, 2)}/${sha256(bytes)}.onnx`;
const cacheDir = (t: TestApp): string => path.join(t.config.storage.dataDir, 'artifact-cache');
const stagingFiles = (t: TestApp): string[] => listFiles(path.join(t.config.storage.dataDir, 'artifacts', '.staging'));

let s3: TestS3;
before(async () => {
  s3 = await startS3Server();
});
after(() => s3?.stop());

for (const engine of testEngines()) {
  describe(`the s3 artifact store on ${engine}`, () => {
    let bucket: string;
    let a: TestApp;
    let b: TestApp | undefined;
    const httpA: Http = () => authed(a);
    const httpB: Http = () => authed(b as TestApp);

    before(async () => {
      bucket = await s3.createBucket();
      a = await startTestApp(engine, { listen: true, env: { ...s3.env(bucket), S3_PREFIX: PREFIX } });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('registry: an upload lands in the bucket once per content; list and download; shared bytes outlive one delete', async () => {
      await createModel(httpA, 'shared');
      await uploadVersion(httpA, 'shared', V1, 1);
      await uploadVersion(httpA, 'shared', V1, 2);
      assert.deepEqual(await s3.keys(bucket), [objectKey(V1)]);
      const list = await httpA().get('/api/v1/models/shared/versions').expect(200);
      assert.deepEqual(
        list.body.items.map((v: { version: number; sha256: string }) => [v.version, v.sha256]),
        [2, 1].map((version) => [version, sha256(V1)]),
      );
      assert.ok(!JSON.stringify(list.body).includes('sha256/'), 'no storage key in a response');
      const file = await httpA().get('/api/v1/models/shared/versions/2/file').buffer(true).expect(200);
      assert.deepEqual(file.body, V1);
      await httpA().delete('/api/v1/models/shared/versions/1').expect(204);
      assert.deepEqual(await s3.keys(bucket), [objectKey(V1)], 'version 2 still uses the bytes');
      const again = await httpA().get('/api/v1/models/shared/versions/2/file').buffer(true).expect(200);
      assert.deepEqual(again.body, V1);
      await httpA().delete('/api/v1/models/shared/versions/2').expect(204);
      assert.deepEqual(await s3.keys(bucket), []);
      assert.deepEqual(fs.readdirSync(cacheDir(a)), [], 'the cached copy went with the object');
      assert.deepEqual(stagingFiles(a), []);
    });

    it('readiness names the store', async () => {
      const res = await anonymous(a).get('/health/ready').expect(200);
      assert.deepEqual(res.body.details.artifacts, { status: 'up', store: 's3' });
    });

    describe('a second replica on the same database and bucket, starting with an empty cache', () => {
      before(async () => {
        await createModel(httpA, 'mlp');
        await uploadVersion(httpA, 'mlp', MLP, 1);
        await createModel(httpA, 'sturdy');
        await uploadVersion(httpA, 'sturdy', V1, 1);
        await uploadVersion(httpA, 'sturdy', V2, 2);
        // The bucket now holds other bytes under version 2's key: a damaged or tampered object.
        await s3.put(bucket, objectKey(V2), V1);
        // On SQLite the database lives in DATA_DIR, so b shares a's folder, with its cache emptied;
        // on PostgreSQL b has a folder of its own: nothing local is shared.
        const shared: Record<string, string> =
          engine === 'postgres'
            ? { DATABASE_URL: a.databaseUrl as string, DATABASE_MIGRATIONS_RUN: 'false' }
            : { DATA_DIR: a.dataDir };
        if (engine === 'sqlite')
          for (const name of fs.readdirSync(cacheDir(a))) fs.rmSync(path.join(cacheDir(a), name));
        b = await startTestApp('sqlite', {
          listen: true,
          env: { ...s3.env(bucket), S3_PREFIX: PREFIX, INFERENCE_LOAD: 'eager', ...shared },
        });
      });

      it('predicts from bytes it downloaded and verified, equal to a direct ONNX Runtime run', async () => {
        const reply = await predictReply(httpB, { model: 'mlp', inputs: { x: X } });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        const expected = await referenceRun(MLP, { x: { dtype: 'float32', shape: [1, 4], data: X.flat() } });
        assertOutputsMatch(reply.body.outputs as Record<string, JsonTensor>, expected, { rtol: 1e-5 });
        assert.ok(fs.readdirSync(cacheDir(b as TestApp)).includes(`${sha256(MLP)}.onnx`));
      });

      it('runs a job to the outputs its predictions give', async () => {
        const http = client((b as TestApp).baseUrl as string);
        const instances = mlpInstances(40);
        const { job } = await submitJob(http, { model: 'mlp', instances });
        const done = await waitForJob(http, job.id);
        assert.equal(done.status, 'completed', JSON.stringify(done));
        const results = await allResults(http, job.id);
        assert.equal(results.length, 40);
        for (const result of results) {
          const single = await predictReply(httpB, { model: 'mlp', ...instances[result.index] });
          assert.deepEqual(result.outputs, single.body.outputs, `#${result.index}`);
        }
      });

      it('does not load a version whose object no longer matches its sha256; readiness says so; the others serve', async () => {
        const version = await httpB().get('/api/v1/models/sturdy/versions/2').expect(200);
        assert.equal(version.body.status, 'failed');
        assert.match(version.body.failureReason, /no longer matches its sha256.*upload the model again/);
        assert.ok(!fs.readdirSync(cacheDir(b as TestApp)).includes(`${sha256(V2)}.onnx`), 'the bad bytes are not kept');
        const ready = await anonymous(b as TestApp)
          .get('/health/ready')
          .expect(200);
        assert.equal(ready.body.status, 'degraded');
        assert.equal(ready.body.details.registry.failedVersions, 1);
        assert.deepEqual(ready.body.details.artifacts, { status: 'up', store: 's3' });
        const latest = await predictReply(httpB, { model: 'sturdy', inputs: { x: X } });
        assert.equal(latest.status, 200);
        assert.equal(latest.body.version, 1);
      });
    });

    it('S3 failing in the middle of an upload: 503, and no row, no object, no staging file', async () => {
      const proxy = await startCuttingProxy(s3.port);
      const faulty = await startTestApp(engine, { env: { ...s3.env(bucket, proxy.endpoint), S3_PREFIX: 'cut/' } });
      const http: Http = () => authed(faulty);
      try {
        await createModel(http, 'large');
        // The HEAD that looks for the object passes; the multipart upload's parts are cut.
        proxy.cutAfter(1024 * 1024);
        const res = await http().post('/api/v1/models/large/versions').attach('file', LARGE, 'large.onnx');
        assert.equal(res.status, 503, JSON.stringify(res.body));
        assert.equal(res.headers['retry-after'], '5');
        assert.match(res.body.message, /artifact store \(s3\) is unreachable/);
        assert.ok(proxy.cut, 'the connection was cut during the upload');
        const versions = await http().get('/api/v1/models/large/versions').expect(200);
        assert.equal(versions.body.total, 0);
        assert.deepEqual(
          (await s3.keys(bucket)).filter((key) => key.startsWith('cut/')),
          [],
        );
        assert.deepEqual(stagingFiles(faulty), []);
        assert.deepEqual(listFiles(cacheDir(faulty)), []);
        proxy.heal();
        await uploadVersion(http, 'large', LARGE, 1);
        assert.deepEqual(
          (await s3.keys(bucket)).filter((key) => key.startsWith('cut/')),
          [`cut/sha256/${sha256(LARGE).slice(0, 2)}/${sha256(LARGE)}.onnx`],
        );
      } finally {
        await faulty.close();
        await proxy.close();
      }
    });
  });
}

describe('the s3 artifact store unreachable at start', () => {
  let t: TestApp;
  before(async () => {
    const nobody = await freePort();
    t = await startTestApp('sqlite', { env: s3.env('modelforge-models', `http://127.0.0.1:${nobody}`) });
  });
  after(() => t?.close());

  it('readiness answers 503 naming the store; liveness stays 200', async () => {
    const ready = await anonymous(t).get('/health/ready').expect(503);
    assert.equal(ready.body.status, 'error');
    assert.equal(ready.body.error.artifacts.status, 'down');
    assert.equal(ready.body.error.artifacts.store, 's3');
    assert.match(ready.body.error.artifacts.message, /^s3 artifact store: bucket 'modelforge-models' unreachable$/);
    await anonymous(t).get('/health/live').expect(200);
  });

  it('an upload answers 503 and keeps nothing', async () => {
    await createModel(() => authed(t), 'offline');
    const res = await authed(t).post('/api/v1/models/offline/versions').attach('file', V1, 'model.onnx');
    assert.equal(res.status, 503, JSON.stringify(res.body));
    await waitFor(() => stagingFiles(t).length === 0, { what: 'no staging file' });
    const versions = await authed(t).get('/api/v1/models/offline/versions').expect(200);
    assert.equal(versions.body.total, 0);
  });
});

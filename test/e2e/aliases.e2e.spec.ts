import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { auditPage } from '../support/audit-helpers';
import { redisPrefix } from '../support/job-helpers';
import { OipGrpcClient, outputsAsJson } from '../support/oip-grpc-client';
import { mlpModel } from '../support/onnx-models';
import {
  createModel,
  Http,
  predictReply,
  twoReplicas,
  uniqueModelName,
  uploadVersion,
} from '../support/prediction-cache-helpers';
import { testEngines } from '../support/postgres';
import { redisTestUrl } from '../support/redis-server';
import { freePort } from '../support/service-process';
import { authed, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * Aliases and the version lifecycle over every transport: an alias names a version wherever a
 * number does (predictions, jobs, Open Inference Protocol REST and gRPC), moving it changes what
 * answers at once (the prediction cache included), and an archived version is served only when
 * pinned by number. Versions 1 and 2 of `ranker` are MLPs with different weights, so their
 * outputs tell them apart.
 */

const V1 = mlpModel({ seed: 1 });
const V2 = mlpModel({ seed: 2 });
const X = [[0.5, -1.25, 3, 0.1]];
const body = (version?: number | string, model = 'ranker') => ({
  model,
  inputs: { x: X },
  ...(version === undefined ? {} : { version }),
});
const oipBody = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: X.flat() }] };

for (const engine of testEngines()) {
  describe(`aliases and version lifecycle on ${engine}`, () => {
    let t: TestApp;
    let grpc: OipGrpcClient;
    const http: Http = () => authed(t);
    /** Outputs of version 1 and 2 pinned by number: what an alias answer must equal. */
    const outputs: Record<number, unknown> = {};

    const putAlias = (alias: string, payload: unknown, model = 'ranker') =>
      http()
        .put(`/api/v1/models/${model}/aliases/${alias}`)
        .send(payload as object);
    const patchVersion = (version: number, payload: unknown) =>
      http()
        .patch(`/api/v1/models/ranker/versions/${version}`)
        .send(payload as object);

    /** A prediction that must succeed; its version (body and header) and outputs. */
    async function served(version?: number | string): Promise<{ version: number; outputs: unknown }> {
      const reply = await predictReply(http, body(version));
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.xModelVersion, String(reply.body.version));
      return { version: reply.body.version, outputs: reply.body.outputs };
    }

    before(async () => {
      const port = await freePort();
      t = await startTestApp(engine, { env: { GRPC_PORT: String(port) } });
      grpc = new OipGrpcClient(`127.0.0.1:${port}`, t.adminKey);
      await createModel(http, 'ranker', { cache: { enabled: true } });
      await uploadVersion(http, 'ranker', V1, 1);
      await uploadVersion(http, 'ranker', V2, 2);
      for (const version of [1, 2]) outputs[version] = (await served(version)).outputs;
      assert.notDeepEqual(outputs[1], outputs[2], 'the two versions must answer differently');
    });
    after(async () => {
      grpc?.close();
      await t?.close();
    });

    describe('PUT and DELETE /api/v1/models/{name}/aliases/{alias}', () => {
      it('points an alias at a version and answers the Model showing it, with an audit row', async () => {
        const res = await putAlias('champion', { version: 1 }).expect(200);
        assert.deepEqual(res.body.aliases, { champion: 1 });
        assert.equal(res.body.name, 'ranker');
        const model = await http().get('/api/v1/models/ranker').expect(200);
        assert.deepEqual(model.body.aliases, { champion: 1 });
        const page = await auditPage(t, { action: 'alias.set' });
        assert.equal(page.items[0].target, 'model:ranker');
        assert.deepEqual(page.items[0].details, { alias: 'champion', version: 1, previous: null });
      });

      it('moves an alias, recording where it pointed before', async () => {
        await putAlias('champion', { version: 2 }).expect(200);
        const res = await putAlias('champion', { version: 1 }).expect(200);
        assert.deepEqual(res.body.aliases, { champion: 1 });
        const page = await auditPage(t, { action: 'alias.set' });
        assert.deepEqual(page.items[0].details, { alias: 'champion', version: 1, previous: 2 });
      });

      for (const alias of ['12', 'latest', 'Champion', '-x', '_x', 'a'.repeat(33), 'ch%20amp', 'c.d']) {
        it(`answers 400 naming the rule for the alias ${JSON.stringify(alias.slice(0, 12))}`, async () => {
          const res = await putAlias(alias, { version: 1 }).expect(400);
          assert.deepEqual(
            res.body.details.map((d: { field: string }) => d.field),
            ['alias'],
          );
          assert.match(res.body.message, /must match \^\[a-z\]\[a-z0-9_-\]\{0,31\}\$/);
        });
      }

      for (const [what, payload] of [
        ['an alias as the target', { version: 'champion' }],
        ['no version', {}],
        ['version 0', { version: 0 }],
        ['a fractional version', { version: 1.5 }],
        ['an unknown field', { version: 1, model: 'other' }],
      ] as const) {
        it(`answers 400 for ${what}`, async () => {
          const res = await putAlias('beta', payload).expect(400);
          assert.match(res.body.message, /version|property model should not exist/);
        });
      }

      it('answers 404 for an unknown version or model, and creates nothing', async () => {
        const res = await putAlias('beta', { version: 99 }).expect(404);
        assert.match(res.body.message, /no version 99/);
        await putAlias('beta', { version: 1 }, 'no-such-model').expect(404);
        const model = await http().get('/api/v1/models/ranker').expect(200);
        assert.equal(model.body.aliases.beta, undefined);
      });

      it('an alias named like an Object.prototype member is just a name', async () => {
        const predicted = await predictReply(http, body('constructor'));
        assert.equal(predicted.status, 404);
        assert.match(predicted.body.message ?? '', /no alias 'constructor'/);
        await http().delete('/api/v1/models/ranker/aliases/constructor').expect(404);
      });

      it('DELETE removes the alias (204, audited); an unknown one answers 404 naming it', async () => {
        await putAlias('beta', { version: 2 }).expect(200);
        await http().delete('/api/v1/models/ranker/aliases/beta').expect(204);
        const model = await http().get('/api/v1/models/ranker').expect(200);
        assert.deepEqual(model.body.aliases, { champion: 1 });
        const page = await auditPage(t, { action: 'alias.delete' });
        assert.deepEqual(page.items[0].details, { alias: 'beta', previous: 2 });
        const res = await http().delete('/api/v1/models/ranker/aliases/beta').expect(404);
        assert.match(res.body.message, /no alias 'beta'/);
        await http().delete('/api/v1/models/ranker/aliases/latest').expect(400);
      });
    });

    describe('an alias wherever a version is accepted', () => {
      it('predictions: served by the target, named in the body and X-Model-Version', async () => {
        await putAlias('champion', { version: 1 }).expect(200);
        assert.deepEqual(await served('champion'), { version: 1, outputs: outputs[1] });
        assert.deepEqual(await served('latest'), { version: 2, outputs: outputs[2] });
      });

      it('predictions: a cached answer for the alias never outlives a move', async () => {
        await putAlias('champion', { version: 1 }).expect(200);
        await served('champion');
        const hit = await predictReply(http, body('champion'));
        assert.equal(hit.xCache, 'HIT');
        assert.equal(hit.body.version, 1);
        await putAlias('champion', { version: 2 }).expect(200);
        const moved = await predictReply(http, body('champion'));
        assert.equal(moved.xCache, 'MISS');
        assert.deepEqual(
          { version: moved.body.version, outputs: moved.body.outputs },
          { version: 2, outputs: outputs[2] },
        );
        await putAlias('champion', { version: 1 }).expect(200);
        assert.deepEqual(await served('champion'), { version: 1, outputs: outputs[1] });
      });

      it('predictions: an unknown alias answers 404 naming it; a malformed one 400', async () => {
        const unknown = await predictReply(http, body('nobody'));
        assert.equal(unknown.status, 404);
        assert.match(unknown.body.message ?? '', /'ranker' has no alias 'nobody'/);
        for (const version of ['2', 'Champion', '', 0, -1, 1.5, true]) {
          const bad = await predictReply(http, body(version as string));
          assert.equal(bad.status, 400, `version ${JSON.stringify(version)}`);
          assert.match(bad.body.message ?? '', /version must be a version number .* or an alias name/);
        }
      });

      it('jobs: the alias is resolved once, at submission, and the job records the number', async () => {
        await putAlias('champion', { version: 1 }).expect(200);
        const res = await http()
          .post('/api/v1/jobs')
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ model: 'ranker', version: 'champion', instances: [{ inputs: { x: X } }] }))
          .expect(202);
        assert.equal(res.body.version, 1);
        await putAlias('champion', { version: 2 }).expect(200);
        const job = await http().get(`/api/v1/jobs/${res.body.id}`).expect(200);
        assert.equal(job.body.version, 1);
        const unknown = await http()
          .post('/api/v1/jobs')
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ model: 'ranker', version: 'nobody', instances: [{ inputs: { x: X } }] }))
          .expect(404);
        assert.match(unknown.body.message, /no alias 'nobody'/);
        await putAlias('champion', { version: 1 }).expect(200);
      });

      it('jobs: an NDJSON upload names the alias in its query', async () => {
        const res = await http()
          .post('/api/v1/jobs?model=ranker&version=champion')
          .set('Content-Type', 'application/x-ndjson')
          .send(`${JSON.stringify({ inputs: { x: X } })}\n`)
          .expect(202);
        assert.equal(res.body.version, 1);
        await http()
          .post('/api/v1/jobs?model=ranker&version=Champion')
          .set('Content-Type', 'application/x-ndjson')
          .send(`${JSON.stringify({ inputs: { x: X } })}\n`)
          .expect(400);
      });

      it('Open Inference Protocol REST: /v2/models/{m}/versions/{alias}', async () => {
        const res = await http().post('/v2/models/ranker/versions/champion/infer').send(oipBody).expect(200);
        assert.equal(res.body.model_version, '1');
        const metadata = await http().get('/v2/models/ranker/versions/champion').expect(200);
        assert.equal(metadata.body.name, 'ranker');
        await http().get('/v2/models/ranker/versions/champion/ready').expect(200);
        const unknown = await http().post('/v2/models/ranker/versions/nobody/infer').send(oipBody).expect(404);
        assert.match(unknown.body.error, /no alias 'nobody'/);
      });

      it('Open Inference Protocol gRPC: model_version names the alias', async () => {
        const infer = (model_version: string) =>
          grpc.modelInfer({
            model_name: 'ranker',
            model_version,
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: X.flat() } }],
          });
        const v1 = (await infer('champion')).response;
        assert.equal(v1.model_version, '1');
        await putAlias('champion', { version: 2 }).expect(200);
        const v2 = (await infer('champion')).response;
        assert.equal(v2.model_version, '2');
        assert.notDeepEqual(outputsAsJson(v2), outputsAsJson(v1));
        await assert.rejects(infer('nobody'), (error: Error) => /no alias 'nobody'/.test(error.message));
        await putAlias('champion', { version: 1 }).expect(200);
      });
    });

    describe('DELETE of a version an alias points at', () => {
      it('answers 409 naming the alias and keeps the version', async () => {
        await putAlias('champion', { version: 1 }).expect(200);
        await putAlias('stable', { version: 1 }).expect(200);
        const res = await http().delete('/api/v1/models/ranker/versions/1').expect(409);
        assert.match(res.body.message, /alias 'champion', 'stable'/);
        await http().get('/api/v1/models/ranker/versions/1').expect(200);
        await http().delete('/api/v1/models/ranker/aliases/stable').expect(204);
      });
    });

    describe('PATCH /api/v1/models/{name}/versions/{version}', () => {
      it('changes description and metadata, shown in ModelVersion responses, audited', async () => {
        const metadata = { accuracy: 0.97, dataset: 'ranker-2025-11', 'git.commit': '4f2a9c1' };
        const res = await patchVersion(1, { description: 'baseline', metadata }).expect(200);
        assert.equal(res.body.description, 'baseline');
        assert.deepEqual(res.body.metadata, metadata);
        assert.equal(res.body.status, 'ready');
        const read = await http().get('/api/v1/models/ranker/versions/1').expect(200);
        assert.deepEqual(read.body.metadata, metadata);
        const list = await http().get('/api/v1/models/ranker/versions').expect(200);
        assert.deepEqual(list.body.items[0].metadata, {});
        const page = await auditPage(t, { action: 'version.update' });
        assert.equal(page.items[0].target, 'version:ranker/1');
        assert.deepEqual(page.items[0].details, {
          fields: ['description', 'metadata'],
          metadataKeys: ['accuracy', 'dataset', 'git.commit'],
        });
      });

      const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
      for (const [what, payload, pattern] of [
        ['65 metadata keys', { metadata: tooMany }, /65 keys; at most 64/],
        ['a metadata key off the pattern', { metadata: { 'a b': 1 } }, /key 'a b' must match/],
        ['a string value over 1024 characters', { metadata: { note: 'x'.repeat(1025) } }, /metadata.note must be/],
        ['an object value', { metadata: { nested: { a: 1 } } }, /metadata.nested must be/],
        ['a boolean value', { metadata: { ok: true } }, /metadata.ok must be/],
        ['metadata as an array', { metadata: [1] }, /metadata must be an object/],
        ['null metadata', { metadata: null }, /metadata must be an object/],
        ['status failed', { status: 'failed' }, /status must be one of ready, archived/],
        ['an unknown field', { sha256: 'x' }, /property sha256 should not exist/],
        ['a description over 2000 characters', { description: 'd'.repeat(2001) }, /description/],
      ] as const) {
        it(`answers 400 for ${what} and changes nothing`, async () => {
          const res = await patchVersion(1, payload).expect(400);
          assert.match(res.body.message, pattern);
          const read = await http().get('/api/v1/models/ranker/versions/1').expect(200);
          assert.equal(read.body.description, 'baseline');
        });
      }

      it('answers 404 for an unknown version', async () => {
        const res = await patchVersion(99, { status: 'archived' }).expect(404);
        assert.match(res.body.message, /no version 99/);
      });

      it('archived: the latest skips it, an alias on it answers 409, pinned by number it serves', async () => {
        await putAlias('champion', { version: 2 }).expect(200);
        const res = await patchVersion(2, { status: 'archived' }).expect(200);
        assert.equal(res.body.status, 'archived');
        const model = await http().get('/api/v1/models/ranker').expect(200);
        assert.equal(model.body.latestVersion, 1);
        assert.deepEqual(await served(), { version: 1, outputs: outputs[1] });
        assert.deepEqual(await served(2), { version: 2, outputs: outputs[2] });
        const byAlias = await predictReply(http, body('champion'));
        assert.equal(byAlias.status, 409);
        assert.match(byAlias.body.message ?? '', /Alias 'champion' of 'ranker' points at version 2, which is archived/);
        const oip = await http().post('/v2/models/ranker/infer').send(oipBody).expect(200);
        assert.equal(oip.body.model_version, '1');
        await http().post('/v2/models/ranker/versions/champion/infer').send(oipBody).expect(409);
        await http().post('/v2/models/ranker/versions/2/infer').send(oipBody).expect(200);
        // An alias may still be pointed at an archived version (to be restored later).
        await putAlias('next', { version: 2 }).expect(200);
        await http().delete('/api/v1/models/ranker/aliases/next').expect(204);
      });

      it('restored to ready: the latest is the highest ready version again', async () => {
        await patchVersion(2, { status: 'ready' }).expect(200);
        const model = await http().get('/api/v1/models/ranker').expect(200);
        assert.equal(model.body.latestVersion, 2);
        assert.deepEqual(await served(), { version: 2, outputs: outputs[2] });
        assert.deepEqual(await served('champion'), { version: 2, outputs: outputs[2] });
        const page = await auditPage(t, { action: 'version.update' });
        assert.deepEqual(page.items[0].details, { fields: ['status'], status: 'ready' });
      });
    });
  });
}

/** One answer of the load: what was current when its request was sent, and what served it. */
interface LoadAnswer {
  replica: 'A' | 'B';
  /** Completed alias moves when the request was sent. */
  moves: number;
  /**
   * Whether a move overlapped the request (in flight when it was sent, or begun before its answer):
   * either target may answer it.
   */
  overlapped: boolean;
  input: number;
  status: number;
  version: number;
  xCache: string | undefined;
  outputs: unknown;
}

// Replicas need a database they can share: PostgreSQL (not run when TEST_POSTGRES=off, like every engine loop).
if (testEngines().includes('postgres'))
  describe('an alias moved under prediction load on two replicas sharing PostgreSQL and Redis', () => {
    const CLIENTS_PER_REPLICA = 4;
    const INPUTS = [X, [[1, 2, 3, 4]], [[-0.5, 0.25, -3, 2]]];
    /** Answers each replica must give from requests sent after a move, before the next one. */
    const AFTER_EACH_MOVE = 40;
    let a: TestApp;
    let b: TestApp;
    const httpA: Http = () => authed(a);
    const httpB: Http = () => authed(b);

    before(async () => {
      [a, b] = await twoReplicas({
        REDIS_URL: redisTestUrl(),
        JOBS_QUEUE_PREFIX: redisPrefix('aliases'),
        SHUTDOWN_GRACE_MS: '1000',
        // A slow Redis answer counts as a miss: these tests are about which version answers.
        CACHE_TIMEOUT_MS: '10000',
      });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('no request sent after the PUT returns is answered by the old version, on either replica', async () => {
      const name = uniqueModelName('alias-load');
      await createModel(httpA, name, { cache: { enabled: true } });
      await uploadVersion(httpA, name, V1, 1);
      await uploadVersion(httpB, name, V2, 2);
      // Each input's outputs per version, pinned by number: what an answer by the alias must equal.
      const expected = new Map<string, unknown>();
      for (const [input, x] of INPUTS.entries()) {
        for (const version of [1, 2]) {
          const reply = await predictReply(httpB, { model: name, version, inputs: { x } });
          assert.equal(reply.status, 200);
          expected.set(`${input}@${version}`, reply.body.outputs);
        }
      }
      assert.notDeepEqual(expected.get('0@1'), expected.get('0@2'));

      const targets = [1, 2, 1, 2];
      await httpA().put(`/api/v1/models/${name}/aliases/champion`).send({ version: targets[0] }).expect(200);
      const answers: LoadAnswer[] = [];
      let begun = 0;
      let moves = 0;
      let stop = false;
      const client = async (replica: 'A' | 'B', http: Http, seed: number) => {
        for (let n = seed; !stop; n++) {
          const input = n % INPUTS.length;
          const sent = { moves, begun };
          const reply = await predictReply(http, { model: name, version: 'champion', inputs: { x: INPUTS[input] } });
          answers.push({
            replica,
            moves: sent.moves,
            overlapped: sent.begun !== sent.moves || begun !== sent.begun,
            input,
            status: reply.status,
            version: reply.body.version,
            xCache: reply.xCache,
            outputs: reply.body.outputs,
          });
        }
      };
      const load = [httpA, httpB].flatMap((http, r) =>
        Array.from({ length: CLIENTS_PER_REPLICA }, (_, c) => client(r === 0 ? 'A' : 'B', http, c)),
      );
      /** Until each replica answered AFTER_EACH_MOVE requests sent after the last move completed. */
      const settle = (what: string) =>
        waitFor(
          () =>
            (['A', 'B'] as const).every(
              (replica) =>
                answers.filter((x) => x.replica === replica && x.moves === moves && !x.overlapped).length >=
                AFTER_EACH_MOVE,
            ),
          { what, timeoutMs: 60_000 },
        );
      try {
        await settle('answers before the first move');
        for (const target of targets.slice(1)) {
          begun++;
          await httpB().put(`/api/v1/models/${name}/aliases/champion`).send({ version: target }).expect(200);
          moves++;
          await settle(`answers after move ${moves} (to version ${target})`);
        }
      } finally {
        stop = true;
        await Promise.all(load);
      }

      const failed = answers.filter((x) => x.status !== 200);
      assert.deepEqual(failed.slice(0, 3), [], `${failed.length} failed predictions`);
      const settled = answers.filter((x) => !x.overlapped);
      const stale = settled.filter(
        (x) =>
          x.version !== targets[x.moves] ||
          !isDeepStrictEqual(x.outputs, expected.get(`${x.input}@${targets[x.moves]}`)),
      );
      assert.deepEqual(
        stale.slice(0, 3).map(({ replica, moves: m, version, xCache }) => ({ replica, moves: m, version, xCache })),
        [],
        `${stale.length} of ${settled.length} answers came from the old version`,
      );
      // The cache was exercised across the moves: hits on both replicas, after a move too.
      for (const replica of ['A', 'B'] as const) {
        const hits = settled.filter((x) => x.replica === replica && x.moves > 0 && x.xCache === 'HIT');
        assert.ok(hits.length > 0, `replica ${replica} answered some requests from the cache after a move`);
      }
    });
  });

for (const engine of testEngines()) {
  describe(`a version whose file is damaged in the store, found at start on ${engine}`, () => {
    let a: TestApp;
    let b: TestApp | undefined;
    const httpB: Http = () => authed(b as TestApp);

    before(async () => {
      a = await startTestApp(engine);
      const httpA: Http = () => authed(a);
      await createModel(httpA, 'sturdy');
      await uploadVersion(httpA, 'sturdy', V1, 1);
      await uploadVersion(httpA, 'sturdy', V2, 2);
      const [{ storage_key: key }] = await a.dataSource.query<{ storage_key: string }[]>(
        "SELECT v.storage_key FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'sturdy' AND v.version = 2",
      );
      // Half the file: what a disk or a copy gone wrong leaves behind.
      const file = path.join(a.dataDir, 'artifacts', key);
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
      // A replica starting on the same database and store preloads (INFERENCE_LOAD=eager) and checks.
      const shared: Record<string, string> = a.config.database.url
        ? { DATABASE_URL: a.config.database.url, DATABASE_MIGRATIONS_RUN: 'false', DATA_DIR: a.dataDir }
        : { DATA_DIR: a.dataDir };
      b = await startTestApp('sqlite', { env: { INFERENCE_LOAD: 'eager', ...shared } });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('is marked failed with the reason, skipped by the latest and never served', async () => {
      const version = await httpB().get('/api/v1/models/sturdy/versions/2').expect(200);
      assert.equal(version.body.status, 'failed');
      assert.match(version.body.failureReason, /no longer matches its sha256.*upload the model again/);
      const intact = await httpB().get('/api/v1/models/sturdy/versions/1').expect(200);
      assert.deepEqual([intact.body.status, intact.body.failureReason], ['ready', null]);
      const model = await httpB().get('/api/v1/models/sturdy').expect(200);
      assert.equal(model.body.latestVersion, 1);
      const latest = await predictReply(httpB, body(undefined, 'sturdy'));
      assert.equal(latest.body.version, 1);
      const pinned = await predictReply(httpB, body(2, 'sturdy'));
      assert.equal(pinned.status, 409);
      assert.match(pinned.body.message ?? '', /Version 2 of 'sturdy' is failed/);
      const restore = await httpB().patch('/api/v1/models/sturdy/versions/2').send({ status: 'ready' }).expect(409);
      assert.match(restore.body.message, /failed to load; upload it again/);
      await httpB().put('/api/v1/models/sturdy/aliases/champion').send({ version: 2 }).expect(409);
    });

    it('readiness says so, degraded but ready: the other versions still serve', async () => {
      const res = await authed(b as TestApp)
        .get('/health/ready')
        .expect(200);
      assert.equal(res.body.status, 'degraded');
      assert.equal(res.body.details.registry.status, 'degraded');
      assert.equal(res.body.details.registry.failedVersions, 1);
      assert.ok(!JSON.stringify(res.body).includes('sturdy'), 'no model name in the public probe');
    });
  });
}

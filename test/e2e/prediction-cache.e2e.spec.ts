import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { shiftClock } from '../support/clock';
import { mlpModel, multiIoModel, stringModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import {
  cacheStats,
  createModel,
  expectPrediction,
  Http,
  httpOf,
  matrix,
  modelWithVersion,
  predictReply,
  uniqueModelName,
  twoReplicas,
  uploadVersion,
} from '../support/prediction-cache-helpers';
import { redisTestUrl } from '../support/redis-server';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The prediction cache over HTTP, once with the in-memory LRU and once with Redis. Every test uses
 * model names of its own (random suffix), so runs sharing one Redis never see each other's entries.
 */

const MLP_V1 = mlpModel({ seed: 1 });
/**
 * TTL of the expiry tests. Time passes by moving Date.now() (test/support/clock.ts), so the real
 * time a test takes (at most the 120 s test timeout) never reaches it.
 */
const TTL_S = 600;
const TTL_MS = TTL_S * 1000;
const MLP_V2 = mlpModel({ seed: 2 });

/** Bull keys of these apps stay apart from any other suite using the same Redis. */
const queuePrefix = () => `mf-cache-test-${randomBytes(4).toString('hex')}`;

const baseEnv = (): Record<string, string> => ({
  SHUTDOWN_GRACE_MS: '1000',
  JOBS_QUEUE_PREFIX: queuePrefix(),
  // A Redis answer slower than CACHE_TIMEOUT_MS counts as a MISS: on a loaded machine the default
  // 100 ms would turn expected HITs into MISSes. These tests are not about that timeout.
  CACHE_TIMEOUT_MS: '10000',
});

interface StoreCase {
  store: 'memory' | 'redis';
  env: Record<string, string>;
}

const STORES: StoreCase[] = [
  { store: 'memory', env: {} },
  { store: 'redis', env: { REDIS_URL: redisTestUrl() } },
];

const mlpBody = (model: string, x: unknown, extra: Record<string, unknown> = {}) => ({
  model,
  inputs: { x },
  ...extra,
});

const flat = (rows: number[][]) => ({ shape: [rows.length, rows[0].length], data: rows.flat() });

for (const { store, env } of STORES) {
  describe(`prediction cache with the ${store} store`, () => {
    let t: TestApp;
    const http = httpOf(() => t);

    before(async () => {
      t = await startTestApp('sqlite', { env: { ...baseEnv(), ...env } });
    });
    after(async () => {
      await t?.close();
    });

    it('answers a repeated request from the cache: MISS, then HIT with the same outputs', async () => {
      const name = uniqueModelName('hit');
      await modelWithVersion(http, name, MLP_V1);
      const before = await cacheStats(http);
      const body = mlpBody(name, matrix(2, 4, 1));

      const miss = await expectPrediction(http, body, 'MISS');
      assert.equal(miss.xModelVersion, '1');
      assert.equal(miss.body.model, name);
      assert.equal(miss.body.version, 1);
      assert.deepEqual(miss.body.outputs.y.shape, [2, 3]);
      assert.equal(typeof miss.body.timing.totalMs, 'number');
      assert.ok(miss.body.timing.inferenceMs >= 0);

      const hit = await expectPrediction(http, body, 'HIT');
      assert.equal(hit.xModelVersion, '1');
      assert.equal(hit.body.model, name);
      assert.equal(hit.body.version, 1);
      assert.deepEqual(hit.body.outputs, miss.body.outputs);
      assert.equal(typeof hit.body.timing.totalMs, 'number');

      const again = await expectPrediction(http, body, 'HIT');
      assert.deepEqual(again.body.outputs, miss.body.outputs);

      const afterStats = await cacheStats(http);
      assert.equal(afterStats.hits - before.hits, 2);
      assert.equal(afterStats.misses - before.misses, 1);
      assert.equal(afterStats.healthy, true);
    });

    it('the nested and the {shape, data} forms of one tensor hit the same entry', async () => {
      const name = uniqueModelName('forms');
      await modelWithVersion(http, name, MLP_V1);
      const rows = matrix(3, 4, 2);
      const miss = await expectPrediction(http, mlpBody(name, rows), 'MISS', {}, 'nested');
      const flatHit = await expectPrediction(http, mlpBody(name, flat(rows)), 'HIT', {}, 'flat');
      assert.deepEqual(flatHit.body.outputs, miss.body.outputs);
      const typed = await expectPrediction(
        http,
        mlpBody(name, { ...flat(rows), dtype: 'float32' }),
        'HIT',
        {},
        'flat with dtype',
      );
      assert.deepEqual(typed.body.outputs, miss.body.outputs);
      // and the other way round, on fresh values
      const other = matrix(1, 4, 3);
      const flatMiss = await expectPrediction(http, mlpBody(name, flat(other)), 'MISS', {}, 'flat first');
      const nestedHit = await expectPrediction(http, mlpBody(name, other), 'HIT', {}, 'nested second');
      assert.deepEqual(nestedHit.body.outputs, flatMiss.body.outputs);
      // A wrong declared dtype is refused even though the values were answered before.
      const wrong = await predictReply(http, mlpBody(name, { ...flat(rows), dtype: 'int32' }));
      assert.equal(wrong.status, 400, JSON.stringify(wrong.body));
      const { message } = wrong.body as unknown as { message: string };
      assert.match(message, /was sent as "int32" but the model expects float32/);
    });

    it('key order, whitespace, number spelling and an explicit latest version hit the same entry', async () => {
      const name = uniqueModelName('canon');
      await modelWithVersion(http, name, MLP_V1);
      const x = [[0.5, -1.25, 3, 0.1]];
      const miss = await expectPrediction(http, JSON.stringify({ model: name, inputs: { x } }), 'MISS');
      const variants = {
        'keys reordered, spaces and newlines': `{ "inputs" : {\n  "x" : [ [ 0.5 , -1.25 , 3 , 0.1 ] ]\n },\n  "model" : "${name}"\n}`,
        'numbers spelled differently': `{"model":"${name}","inputs":{"x":[[5e-1,-1.250,3.0,0.10]]}}`,
        'explicit version 1': JSON.stringify({ model: name, version: 1, inputs: { x } }),
      };
      for (const [what, raw] of Object.entries(variants)) {
        const hit = await expectPrediction(http, raw, 'HIT', {}, what);
        assert.deepEqual(hit.body.outputs, miss.body.outputs, what);
        assert.equal(hit.xModelVersion, '1');
      }
    });

    it('Cache-Control: no-cache bypasses the lookup (X-Cache BYPASS) and is counted', async () => {
      const name = uniqueModelName('bypass');
      await modelWithVersion(http, name, MLP_V1);
      const body = mlpBody(name, matrix(1, 4, 4));
      const miss = await expectPrediction(http, body, 'MISS');
      await expectPrediction(http, body, 'HIT');
      const before = await cacheStats(http);
      const bypass = await expectPrediction(http, body, 'BYPASS', { 'Cache-Control': 'no-cache' });
      assert.deepEqual(bypass.body.outputs, miss.body.outputs);
      assert.equal(bypass.xModelVersion, '1');
      const bypass2 = await expectPrediction(http, body, 'BYPASS', { 'Cache-Control': 'max-age=0, no-cache' });
      assert.deepEqual(bypass2.body.outputs, miss.body.outputs);
      const afterStats = await cacheStats(http);
      assert.equal(afterStats.bypasses - before.bypasses, 2);
      assert.equal(afterStats.hits, before.hits, 'a bypass is not a hit');
      // the entry is still there for requests that do not bypass
      await expectPrediction(http, body, 'HIT');
    });

    it('failed predictions are not cached', async () => {
      const name = uniqueModelName('fail');
      await createModel(http, name);
      const body = mlpBody(name, matrix(1, 4, 5));
      // no version yet: 404, twice, then the first version answers it
      for (let i = 0; i < 2; i++) {
        const res = await predictReply(http, body);
        assert.equal(res.status, 404, JSON.stringify(res.body));
        assert.notEqual(res.xCache, 'HIT');
      }
      await uploadVersion(http, name, MLP_V1, 1);
      await expectPrediction(http, body, 'MISS', {}, 'after the upload');

      const before = await cacheStats(http);
      const invalid = mlpBody(name, [[1, 2, 3]]); // x is [batch, 4]
      const unknownVersion = mlpBody(name, matrix(1, 4, 5), { version: 9 });
      const unknownOutput = mlpBody(name, matrix(1, 4, 5), { outputs: ['nope'] });
      for (const [bad, status] of [
        [invalid, 400],
        [unknownVersion, 404],
        [unknownOutput, 400],
      ] as const) {
        for (let i = 0; i < 3; i++) {
          const res = await predictReply(http, bad);
          assert.equal(res.status, status, `attempt ${i + 1}: ${JSON.stringify(res.body)}`);
          assert.notEqual(res.xCache, 'HIT');
        }
      }
      const afterStats = await cacheStats(http);
      assert.equal(afterStats.hits, before.hits, 'no failure was answered from the cache');
    });

    it('entries expire after the model ttlSeconds', async (ctx) => {
      const clock = shiftClock(ctx);
      const name = uniqueModelName('ttl');
      await modelWithVersion(http, name, MLP_V1);
      const patched = await http()
        .patch(`/api/v1/models/${name}`)
        .send({ cache: { ttlSeconds: TTL_S } })
        .expect(200);
      assert.deepEqual(patched.body.cache, { enabled: true, ttlSeconds: TTL_S });
      const body = mlpBody(name, matrix(1, 4, 6));
      await expectPrediction(http, body, 'MISS');
      await expectPrediction(http, body, 'HIT');
      clock.advance(TTL_MS / 2);
      await expectPrediction(http, body, 'HIT', {}, 'halfway through the TTL');
      clock.advance(TTL_MS / 2);
      await expectPrediction(http, body, 'MISS', {}, 'after the TTL');
      await expectPrediction(http, body, 'HIT', {}, 'stored again');
    });

    it('an entry is not served past its TTL through the key a later hit of another form adds', async (ctx) => {
      const clock = shiftClock(ctx);
      const name = uniqueModelName('ttl-raw');
      await modelWithVersion(http, name, MLP_V1, { cache: { ttlSeconds: TTL_S } });
      const rows = matrix(2, 4, 7);
      await expectPrediction(http, mlpBody(name, rows), 'MISS', {}, 'nested, computed');
      clock.advance(TTL_MS / 2);
      await expectPrediction(http, mlpBody(name, flat(rows)), 'HIT', {}, 'flat, within the TTL');
      clock.advance(TTL_MS / 2);
      // Past the TTL of the prediction as computed: no form may be served from it, not even
      // through the flat form's key, which was added halfway through.
      await expectPrediction(http, mlpBody(name, flat(rows)), 'MISS', {}, 'flat, past the TTL');
    });

    describe('invalidation', () => {
      it('a new version: a request without version runs it at once', async () => {
        const name = uniqueModelName('inv-upload');
        await modelWithVersion(http, name, MLP_V1);
        const body = mlpBody(name, matrix(2, 4, 8));
        const v1 = await expectPrediction(http, body, 'MISS');
        await expectPrediction(http, body, 'HIT');
        await uploadVersion(http, name, MLP_V2, 2);
        const v2 = await expectPrediction(http, body, 'MISS', {}, 'after the upload');
        assert.equal(v2.xModelVersion, '2');
        assert.equal(v2.body.version, 2);
        assert.notDeepEqual(v2.body.outputs, v1.body.outputs, 'version 2 has other weights');
        const hit = await expectPrediction(http, body, 'HIT');
        assert.equal(hit.xModelVersion, '2');
        assert.deepEqual(hit.body.outputs, v2.body.outputs);
        // version 1, asked for explicitly, still answers with its own outputs
        const old = await predictReply(http, { ...body, version: 1 });
        assert.equal(old.status, 200);
        assert.equal(old.xModelVersion, '1');
        assert.deepEqual(old.body.outputs, v1.body.outputs);
      });

      it('deleting a version: the latest falls back, the deleted one answers 404', async () => {
        const name = uniqueModelName('inv-delver');
        await modelWithVersion(http, name, MLP_V1);
        await uploadVersion(http, name, MLP_V2, 2);
        const latest = mlpBody(name, matrix(1, 4, 9));
        const explicit = { ...latest, version: 2 };
        const v2 = await expectPrediction(http, latest, 'MISS');
        assert.equal(v2.xModelVersion, '2');
        await expectPrediction(http, latest, 'HIT');
        await expectPrediction(http, explicit, 'HIT', {}, 'explicit version 2 of the same inputs');
        await expectPrediction(http, explicit, 'HIT');

        await http().delete(`/api/v1/models/${name}/versions/2`).expect(204);
        const v1 = await expectPrediction(http, latest, 'MISS', {}, 'latest after deleting version 2');
        assert.equal(v1.xModelVersion, '1');
        assert.equal(v1.body.version, 1);
        assert.notDeepEqual(v1.body.outputs, v2.body.outputs);
        const gone = await predictReply(http, explicit);
        assert.equal(gone.status, 404, `deleted version answered ${gone.status} ${gone.xCache}`);
      });

      it('deleting the model and re-creating it with the same name and bytes: MISS', async () => {
        const name = uniqueModelName('inv-recreate');
        await modelWithVersion(http, name, MLP_V1);
        const body = mlpBody(name, matrix(2, 4, 10));
        await expectPrediction(http, body, 'MISS');
        await expectPrediction(http, body, 'HIT');
        await http().delete(`/api/v1/models/${name}`).expect(204);
        const gone = await predictReply(http, body);
        assert.equal(gone.status, 404, `deleted model answered ${gone.status} ${gone.xCache}`);
        await modelWithVersion(http, name, MLP_V1);
        await expectPrediction(http, body, 'MISS', {}, 're-created model');
        await expectPrediction(http, body, 'HIT');
      });

      it('changing the cache settings: MISS', async () => {
        const name = uniqueModelName('inv-patch');
        await modelWithVersion(http, name, MLP_V1);
        const body = mlpBody(name, matrix(1, 4, 11));
        await expectPrediction(http, body, 'MISS');
        await expectPrediction(http, body, 'HIT');
        await http()
          .patch(`/api/v1/models/${name}`)
          .send({ cache: { ttlSeconds: 120 } })
          .expect(200);
        await expectPrediction(http, body, 'MISS', {}, 'after PATCH cache.ttlSeconds');
        await expectPrediction(http, body, 'HIT');
      });

      it('DELETE /api/v1/models/{name}/cache flushes that model only', async () => {
        const name = uniqueModelName('inv-flush');
        const other = uniqueModelName('inv-keep');
        await modelWithVersion(http, name, MLP_V1);
        await modelWithVersion(http, other, MLP_V1);
        const body = mlpBody(name, matrix(1, 4, 12));
        const otherBody = mlpBody(other, matrix(1, 4, 12));
        await expectPrediction(http, body, 'MISS');
        await expectPrediction(http, otherBody, 'MISS');
        await expectPrediction(http, body, 'HIT');
        await http().delete(`/api/v1/models/${name}/cache`).expect(204);
        await expectPrediction(http, body, 'MISS', {}, 'after the flush');
        await expectPrediction(http, body, 'HIT');
        await expectPrediction(http, otherBody, 'HIT', {}, 'another model keeps its entries');
        await http()
          .delete(`/api/v1/models/${uniqueModelName('absent')}/cache`)
          .expect(404);
        await http().delete('/api/v1/models/Not_A_Name/cache').expect(400);
      });

      it('cache: {enabled: false} always runs the model', async () => {
        const name = uniqueModelName('disabled');
        await modelWithVersion(http, name, MLP_V1, { cache: { enabled: false } });
        const model = await http().get(`/api/v1/models/${name}`).expect(200);
        assert.equal(model.body.cache.enabled, false);
        const body = mlpBody(name, matrix(1, 4, 13));
        const first = await expectPrediction(http, body, 'MISS');
        for (let i = 0; i < 3; i++) {
          const again = await expectPrediction(http, body, 'MISS', {}, `repeat ${i + 1}`);
          assert.deepEqual(again.body.outputs, first.body.outputs);
        }
        await expectPrediction(http, mlpBody(name, flat(matrix(1, 4, 13))), 'MISS', {}, 'flat form');
      });

      it('disabling the cache of a model with entries stops serving them; enabling starts afresh', async () => {
        const name = uniqueModelName('toggle');
        await modelWithVersion(http, name, MLP_V1);
        const body = mlpBody(name, matrix(1, 4, 14));
        await expectPrediction(http, body, 'MISS');
        await expectPrediction(http, body, 'HIT');
        await http()
          .patch(`/api/v1/models/${name}`)
          .send({ cache: { enabled: false } })
          .expect(200);
        await expectPrediction(http, body, 'MISS', {}, 'disabled');
        await expectPrediction(http, body, 'MISS', {}, 'disabled, again');
        await http()
          .patch(`/api/v1/models/${name}`)
          .send({ cache: { enabled: true } })
          .expect(200);
        await expectPrediction(http, body, 'MISS', {}, 're-enabled');
        await expectPrediction(http, body, 'HIT', {}, 're-enabled, again');
      });
    });

    it('different outputs selections are different entries', async () => {
      const name = uniqueModelName('outputs');
      await modelWithVersion(http, name, multiIoModel());
      const inputs = {
        a: [
          [1, 2, 3],
          [4, 5, 6],
        ],
        b: [
          [0.5, 0.25, -1],
          [2, 2, 2],
        ],
      };
      const sum = await expectPrediction(http, { model: name, inputs, outputs: ['sum'] }, 'MISS', {}, 'sum');
      assert.deepEqual(Object.keys(sum.body.outputs), ['sum']);
      const product = await expectPrediction(
        http,
        { model: name, inputs, outputs: ['product'] },
        'MISS',
        {},
        'product',
      );
      assert.deepEqual(Object.keys(product.body.outputs), ['product']);
      const all = await expectPrediction(http, { model: name, inputs }, 'MISS', {}, 'all outputs');
      assert.deepEqual(Object.keys(all.body.outputs).sort(), ['product', 'sum', 'total']);
      const sumAgain = await expectPrediction(http, { model: name, inputs, outputs: ['sum'] }, 'HIT', {}, 'sum again');
      assert.deepEqual(sumAgain.body.outputs, sum.body.outputs);
      const two = await predictReply(http, { model: name, inputs, outputs: ['total', 'sum'] });
      assert.equal(two.status, 200);
      assert.deepEqual(Object.keys(two.body.outputs).sort(), ['sum', 'total']);
      const twoAgain = await predictReply(http, { model: name, inputs, outputs: ['sum', 'total'] });
      assert.equal(twoAgain.status, 200);
      assert.deepEqual(Object.keys(twoAgain.body.outputs).sort(), ['sum', 'total']);
      assert.deepEqual(twoAgain.body.outputs.total, all.body.outputs.total);
    });

    it('GET /api/v1/cache/stats reports the counters of this process', async () => {
      const name = uniqueModelName('stats');
      await modelWithVersion(http, name, MLP_V1);
      const before = await cacheStats(http);
      await expectPrediction(http, mlpBody(name, matrix(1, 4, 15)), 'MISS');
      const stats = await cacheStats(http);
      const keys = ['store', 'healthy', 'hits', 'misses', 'bypasses', 'hitRatio', 'errors', 'skippedTooLarge'];
      for (const key of keys) assert.ok(key in stats, `stats lack ${key}: ${JSON.stringify(stats)}`);
      assert.equal(stats.store, store);
      assert.equal(stats.healthy, true);
      assert.equal(stats.errors, 0);
      assert.equal(stats.misses, before.misses + 1);
      assert.ok(stats.hits > 0 && stats.misses > 0, 'earlier tests hit and missed');
      assert.ok(Math.abs(stats.hitRatio - stats.hits / (stats.hits + stats.misses)) < 1e-9);
      assert.ok(stats.hitRatio > 0 && stats.hitRatio < 1);
      if (store === 'memory') {
        assert.equal(typeof stats.entries, 'number');
        assert.equal(typeof stats.bytes, 'number');
        assert.ok((stats.entries ?? 0) > (before.entries ?? 0), 'the miss stored an entry');
        assert.ok((stats.bytes ?? 0) > (before.bytes ?? 0));
      } else {
        assert.equal(stats.entries, undefined);
        assert.equal(stats.bytes, undefined);
      }
    });
  });

  describe(`prediction cache size limits with the ${store} store`, () => {
    let t: TestApp;
    const http = httpOf(() => t);
    const MAX_ENTRY = 1024;
    const MEMORY_MAX = 16 * 1024;

    before(async () => {
      t = await startTestApp('sqlite', {
        env: {
          ...baseEnv(),
          ...env,
          CACHE_MAX_ENTRY_BYTES: String(MAX_ENTRY),
          CACHE_MEMORY_MAX_BYTES: String(MEMORY_MAX),
        },
      });
    });
    after(async () => {
      await t?.close();
    });

    it('responses above CACHE_MAX_ENTRY_BYTES are not cached and are counted', async () => {
      const name = uniqueModelName('large');
      await modelWithVersion(http, name, MLP_V1);
      const large = mlpBody(name, matrix(64, 4, 1)); // 192 output floats: well over 1 KiB
      const small = mlpBody(name, matrix(1, 4, 1));
      const before = await cacheStats(http);
      const first = await expectPrediction(http, large, 'MISS');
      assert.ok(JSON.stringify(first.body).length > MAX_ENTRY);
      await expectPrediction(http, large, 'MISS', {}, 'large, again');
      await expectPrediction(http, large, 'MISS', {}, 'large, third time');
      await expectPrediction(http, small, 'MISS', {}, 'small');
      await expectPrediction(http, small, 'HIT', {}, 'small, again');
      const afterStats = await cacheStats(http);
      assert.equal(afterStats.skippedTooLarge - before.skippedTooLarge, 3);
      if (store === 'memory') {
        assert.ok((afterStats.bytes ?? 0) <= MEMORY_MAX);
      }
    });

    it('the entry limit is in bytes: multi-byte text counts for what it weighs', async () => {
      const name = uniqueModelName('utf8');
      await modelWithVersion(http, name, stringModel());
      // 400 euro signs: 400 characters, 1,200 bytes of UTF-8 in the response alone
      const body = { model: name, inputs: { s: ['€'.repeat(400)] } };
      const before = await cacheStats(http);
      const first = await expectPrediction(http, body, 'MISS');
      assert.deepEqual(first.body.outputs.s_out.data, ['€'.repeat(400)]);
      assert.ok(Buffer.byteLength(JSON.stringify(first.body)) > MAX_ENTRY);
      await expectPrediction(http, body, 'MISS', {}, 'a response over the byte limit must not be cached');
      const afterStats = await cacheStats(http);
      assert.ok(afterStats.skippedTooLarge > before.skippedTooLarge);
    });

    if (store === 'memory') {
      it('the in-memory store stays within CACHE_MEMORY_MAX_BYTES', async () => {
        const name = uniqueModelName('lru');
        await modelWithVersion(http, name, MLP_V1);
        for (let i = 0; i < 80; i++) await expectPrediction(http, mlpBody(name, matrix(1, 4, 100 + i)), 'MISS');
        const stats = await cacheStats(http);
        assert.ok((stats.bytes ?? Infinity) <= MEMORY_MAX, `bytes ${stats.bytes} over ${MEMORY_MAX}`);
        assert.ok((stats.entries ?? 0) > 0);
        assert.ok((stats.entries ?? Infinity) < 160, `${stats.entries} entries: some must have been evicted`);
        // the most recent one is still there
        await expectPrediction(http, mlpBody(name, matrix(1, 4, 179)), 'HIT');
      });
    }
  });
}

const withPostgres = testEngines().includes('postgres');

// Replicas need a database they can share: PostgreSQL (not run when TEST_POSTGRES=off, like every engine loop).
if (withPostgres)
  describe('prediction cache across two replicas sharing PostgreSQL and Redis', () => {
    let a: TestApp;
    let b: TestApp;
    const httpA: Http = httpOf(() => a);
    const httpB: Http = httpOf(() => b);

    before(async () => {
      [a, b] = await twoReplicas({ ...baseEnv(), REDIS_URL: redisTestUrl() });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('an entry stored through one replica is a HIT on the other', async () => {
      const name = uniqueModelName('x-share');
      await modelWithVersion(httpB, name, MLP_V1);
      const body = mlpBody(name, matrix(2, 4, 1));
      const miss = await expectPrediction(httpA, body, 'MISS', {}, 'replica A');
      const hit = await expectPrediction(httpB, body, 'HIT', {}, 'replica B');
      assert.deepEqual(hit.body.outputs, miss.body.outputs);
    });

    it('changing cache settings through B: A misses at once', async () => {
      const name = uniqueModelName('x-patch');
      await modelWithVersion(httpA, name, MLP_V1);
      const body = mlpBody(name, matrix(1, 4, 2));
      await expectPrediction(httpA, body, 'MISS');
      await expectPrediction(httpA, body, 'HIT');
      await httpB()
        .patch(`/api/v1/models/${name}`)
        .send({ cache: { ttlSeconds: 90 } })
        .expect(200);
      await expectPrediction(httpA, body, 'MISS', {}, 'A after the PATCH on B');
    });

    it('disabling the cache through B: A stops serving entries at once', async () => {
      const name = uniqueModelName('x-disable');
      await modelWithVersion(httpA, name, MLP_V1);
      const body = mlpBody(name, matrix(1, 4, 3));
      await expectPrediction(httpA, body, 'MISS');
      await expectPrediction(httpA, body, 'HIT');
      await httpB()
        .patch(`/api/v1/models/${name}`)
        .send({ cache: { enabled: false } })
        .expect(200);
      await expectPrediction(httpA, body, 'MISS', {}, 'A after disabling on B');
      await expectPrediction(httpA, body, 'MISS', {}, 'A after disabling on B, again');
    });

    it('flushing through B: A misses at once', async () => {
      const name = uniqueModelName('x-flush');
      await modelWithVersion(httpA, name, MLP_V1);
      const body = mlpBody(name, matrix(1, 4, 4));
      await expectPrediction(httpA, body, 'MISS');
      await expectPrediction(httpA, body, 'HIT');
      await httpB().delete(`/api/v1/models/${name}/cache`).expect(204);
      await expectPrediction(httpA, body, 'MISS', {}, 'A after the flush on B');
    });

    it('a new version uploaded through B: A runs it at once', async () => {
      const name = uniqueModelName('x-upload');
      await modelWithVersion(httpA, name, MLP_V1);
      const body = mlpBody(name, matrix(2, 4, 5));
      const v1 = await expectPrediction(httpA, body, 'MISS');
      await expectPrediction(httpA, body, 'HIT');
      await uploadVersion(httpB, name, MLP_V2, 2);
      const v2 = await expectPrediction(httpA, body, 'MISS', {}, 'A after the upload on B');
      assert.equal(v2.xModelVersion, '2');
      assert.notDeepEqual(v2.body.outputs, v1.body.outputs);
    });

    it('a version deleted through B: A falls back to version 1 and answers 404 for version 2', async () => {
      const name = uniqueModelName('x-delver');
      await modelWithVersion(httpA, name, MLP_V1);
      await uploadVersion(httpA, name, MLP_V2, 2);
      const latest = mlpBody(name, matrix(1, 4, 6));
      const explicit = { ...latest, version: 2 };
      await expectPrediction(httpA, latest, 'MISS');
      await expectPrediction(httpA, latest, 'HIT');
      await expectPrediction(httpA, explicit, 'HIT');
      await httpB().delete(`/api/v1/models/${name}/versions/2`).expect(204);
      const v1 = await expectPrediction(httpA, latest, 'MISS', {}, 'A after deleting version 2 on B');
      assert.equal(v1.xModelVersion, '1');
      const gone = await predictReply(httpA, explicit);
      assert.equal(gone.status, 404, `A answered ${gone.status} ${gone.xCache} for a version deleted on B`);
    });

    it('a model deleted through B: A answers 404 at once; re-created with the same bytes: MISS', async () => {
      const name = uniqueModelName('x-delmodel');
      await modelWithVersion(httpA, name, MLP_V1);
      const body = mlpBody(name, matrix(1, 4, 7));
      await expectPrediction(httpA, body, 'MISS');
      await expectPrediction(httpA, body, 'HIT');
      await httpB().delete(`/api/v1/models/${name}`).expect(204);
      const gone = await predictReply(httpA, body);
      assert.equal(gone.status, 404, `A answered ${gone.status} ${gone.xCache} for a model deleted on B`);
      await modelWithVersion(httpB, name, MLP_V1);
      await expectPrediction(httpA, body, 'MISS', {}, 'A, model re-created on B');
    });
  });

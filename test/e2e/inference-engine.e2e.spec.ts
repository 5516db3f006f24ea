import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { InferenceService } from '../../src/inference/inference.service';
import { mlpModel } from '../support/onnx-models';
import { slowModel } from '../support/slow-model';
import { startTestApp } from '../support/test-app';

/** About 0.3-1 s per run on one thread (one input row tiled to 128): long enough to interrupt or time out. */
const SLOW = slowModel({ layers: 400, tile: 128 });
const slowInput = (rows: number) => ({ shape: [rows, 512], data: new Array<number>(rows * 512).fill(0.5) });

async function withApp(env: Record<string, string>, models: Record<string, Buffer>) {
  // The cache would answer repeated slow requests without running them: these tests exercise the engine.
  const t = await startTestApp('sqlite', { env: { INFERENCE_WORKERS: '1', CACHE_DEFAULT_ENABLED: 'false', ...env } });
  const http = () => request(t.app.getHttpServer());
  for (const [name, bytes] of Object.entries(models)) {
    await http().post('/api/v1/models').send({ name }).expect(201);
    await http().post(`/api/v1/models/${name}/versions`).attach('file', bytes, `${name}.onnx`).expect(201);
  }
  return { t, http, engine: t.app.get(InferenceService) };
}

describe('inference engine', () => {
  describe('worker threads', () => {
    let ctx: Awaited<ReturnType<typeof withApp>>;
    before(async () => {
      ctx = await withApp({}, { slow: SLOW, mlp: mlpModel() });
    });
    after(async () => {
      await ctx?.t.close();
    });

    it('keeps the HTTP thread free while a model runs: a liveness probe answers first', async () => {
      const order: string[] = [];
      const slow = ctx
        .http()
        .post('/api/v1/predictions')
        .send({ model: 'slow', inputs: { x: slowInput(1) } })
        .then((res) => {
          order.push('prediction');
          return res;
        });
      await new Promise((resolve) => setTimeout(resolve, 30));
      await ctx.http().get('/health/live').expect(200);
      order.push('live');
      assert.equal((await slow).status, 200);
      assert.deepEqual(order, ['live', 'prediction']);
    });

    it('replaces a worker that exits; requests sent to it fail with 503 instead of hanging', async () => {
      const restartsBefore = ctx.engine.status().restarts;
      const predict = () =>
        ctx
          .http()
          .post('/api/v1/predictions')
          .send({ model: 'slow', inputs: { x: slowInput(1) } })
          .then((res) => res);
      const running = predict();
      await new Promise((resolve) => setTimeout(resolve, 150));
      const recycled = ctx.engine.recycleWorker(0);
      const queued = predict();
      await recycled;
      const [first, second] = [await running, await queued];
      assert.equal(first.status, 200, 'the run in progress finishes');
      assert.equal(second.status, 503);
      assert.match(second.body.message, /worker (stopped|is restarting)/);
      assert.equal(ctx.engine.status().restarts, restartsBefore + 1);
      assert.equal(ctx.engine.status().alive, 1);
      const after = await ctx
        .http()
        .post('/api/v1/predictions')
        .send({ model: 'mlp', inputs: { x: [[1, 2, 3, 4]] } })
        .expect(200);
      assert.deepEqual(after.body.outputs.y.shape, [1, 3]);
      const ready = await ctx.http().get('/health/ready').expect(200);
      assert.equal(ready.body.details.inference.alive, 1);
    });
  });

  describe('limits', () => {
    it('answers 504 when a run exceeds INFERENCE_TIMEOUT_MS', async () => {
      const ctx = await withApp({ INFERENCE_TIMEOUT_MS: '20' }, { slow: SLOW });
      try {
        const res = await ctx
          .http()
          .post('/api/v1/predictions')
          .send({ model: 'slow', inputs: { x: slowInput(1) } })
          .expect(504);
        assert.match(res.body.message, /did not finish within 20 ms/);
      } finally {
        await ctx.t.close();
      }
    });

    it('answers 429 with Retry-After past the per-model queue bound, and serves the rest', async () => {
      const ctx = await withApp({ INFERENCE_MAX_QUEUE: '2' }, { slow: SLOW });
      try {
        const responses = await Promise.all(
          Array.from({ length: 6 }, () =>
            ctx
              .http()
              .post('/api/v1/predictions')
              .send({ model: 'slow', inputs: { x: slowInput(1) } }),
          ),
        );
        const statuses = responses.map((r) => r.status).sort();
        const rejected = responses.filter((r) => r.status === 429);
        assert.ok(rejected.length >= 1, `statuses ${statuses}`);
        assert.ok(responses.filter((r) => r.status === 200).length >= 2, `statuses ${statuses}`);
        assert.deepEqual([...new Set(statuses)], [200, 429]);
        for (const r of rejected) {
          assert.equal(r.headers['retry-after'], '1');
          assert.match(r.body.message, /INFERENCE_MAX_QUEUE/);
        }
      } finally {
        await ctx.t.close();
      }
    });

    it('keeps at most INFERENCE_MAX_LOADED_VERSIONS loaded, reloading an evicted one on demand', async () => {
      const ctx = await withApp(
        { INFERENCE_MAX_LOADED_VERSIONS: '2' },
        { first: mlpModel({ seed: 11 }), second: mlpModel({ seed: 12 }), third: mlpModel({ seed: 13 }) },
      );
      try {
        const sha = async (name: string) =>
          (await ctx.http().get(`/api/v1/models/${name}/versions/1`).expect(200)).body.sha256 as string;
        const [first, third] = [await sha('first'), await sha('third')];
        assert.equal(ctx.engine.status().loadedVersions, 2);
        assert.equal(ctx.engine.isLoaded(first), false, 'least recently used was unloaded');
        assert.equal(ctx.engine.isLoaded(third), true);
        await ctx
          .http()
          .post('/api/v1/predictions')
          .send({ model: 'first', inputs: { x: [[1, 1, 1, 1]] } })
          .expect(200);
        assert.equal(ctx.engine.isLoaded(first), true);
        assert.equal(ctx.engine.status().loadedVersions, 2);
        await ctx.http().delete('/api/v1/models/first').expect(204);
        assert.equal(ctx.engine.isLoaded(first), false, 'deleting a model unloads it');
      } finally {
        await ctx.t.close();
      }
    });
  });
});

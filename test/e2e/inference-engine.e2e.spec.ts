import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferenceService } from '../../src/inference/inference.service';
import { holdModelLoads } from '../support/model-gate';
import { mlpModel } from '../support/onnx-models';
import { authed, startTestApp } from '../support/test-app';
import { track, waitFor } from '../support/wait-for';

/**
 * A model whose next run the test holds in a worker until it releases it (test/support/model-gate.ts):
 * "a run in progress" lasts exactly as long as each test needs, whatever the machine's speed.
 */
const GATED = mlpModel({ seed: 41 });
const gatedInput = { x: [[1, 2, 3, 4]] };

async function withApp(env: Record<string, string>, models: Record<string, Buffer>) {
  // The cache would answer repeated requests without running them: these tests exercise the engine.
  const t = await startTestApp('sqlite', { env: { INFERENCE_WORKERS: '1', CACHE_DEFAULT_ENABLED: 'false', ...env } });
  const http = () => authed(t);
  const sha256: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(models)) {
    await http().post('/api/v1/models').send({ name }).expect(201);
    const version = await http()
      .post(`/api/v1/models/${name}/versions`)
      .attach('file', bytes, `${name}.onnx`)
      .expect(201);
    sha256[name] = version.body.sha256 as string;
  }
  const engine = t.app.get(InferenceService);
  const predict = (model: string, inputs: Record<string, unknown>) =>
    http()
      .post('/api/v1/predictions')
      .send({ model, inputs })
      .then((res) => res);
  return { t, http, engine, sha256, predict };
}

describe('inference engine', () => {
  describe('inference processes', () => {
    let ctx: Awaited<ReturnType<typeof withApp>>;
    before(async () => {
      ctx = await withApp({}, { gated: GATED, mlp: mlpModel() });
    });
    after(async () => {
      await ctx?.t.close();
    });

    it('keeps the HTTP thread free while a prediction is in a process: a liveness probe answers first', async () => {
      const gate = await holdModelLoads(ctx.t, ctx.sha256.gated);
      try {
        const prediction = track(ctx.predict('gated', gatedInput));
        await waitFor(() => ctx.engine.status().inFlight === 1, { what: 'the prediction to reach the process' });
        await ctx.http().get('/health/live').expect(200);
        assert.equal(prediction.settled, false, 'the prediction is still held in the process');
        gate.release();
        assert.equal((await prediction.promise).status, 200);
      } finally {
        gate.release();
      }
      // ONNX Runtime's run() blocks the thread that calls it: this process's HTTP thread never loads it.
      const loaded = Object.keys(require.cache).filter((id) => id.includes(`${path.sep}onnxruntime-node${path.sep}`));
      assert.deepEqual(loaded, [], 'onnxruntime-node is loaded only in the inference processes');
    });

    it('replaces a process that exits; work waiting for it goes to the replacement', async () => {
      const restartsBefore = ctx.engine.status().restarts;
      const pidBefore = ctx.engine.status().processes[0].pid;
      const gate = await holdModelLoads(ctx.t, ctx.sha256.gated);
      try {
        const running = track(ctx.predict('gated', gatedInput));
        await waitFor(() => ctx.engine.status().inFlight === 1, { what: 'the prediction to reach the process' });
        // The process ends once its current request is done; work that arrives meanwhile waits here.
        const recycled = ctx.engine.recycleWorker(0);
        const waiting = track(ctx.predict('mlp', { x: [[1, 2, 3, 4]] }));
        await waitFor(() => ctx.engine.status().queueDepth.mlp === 1, { what: 'the mlp request to wait' });
        assert.equal(running.settled, false, 'the run in progress is still held');
        assert.equal(waiting.settled, false, 'nothing is sent to a process that is ending');
        gate.release();
        assert.equal((await running.promise).status, 200, 'the run in progress finishes');
        await recycled;
        assert.equal((await waiting.promise).status, 200, 'the waiting request runs in the replacement');
      } finally {
        gate.release();
      }
      assert.notEqual(ctx.engine.status().processes[0].pid, pidBefore, 'a new process');
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
      // The gate holds the run; 2 s leaves a busy machine time to hand it to the idle process first.
      const ctx = await withApp({ INFERENCE_TIMEOUT_MS: '2000' }, { gated: GATED });
      const gate = await holdModelLoads(ctx.t, ctx.sha256.gated);
      try {
        const res = await ctx.predict('gated', gatedInput);
        assert.equal(res.status, 504, JSON.stringify(res.body));
        assert.match(res.body.message, /did not finish within its deadline \(INFERENCE_TIMEOUT_MS\)/);
      } finally {
        gate.release();
        await ctx.t.close();
      }
    });

    it('answers 429 with Retry-After past the per-model queue bound, and serves the rest', async () => {
      const ctx = await withApp({ INFERENCE_MAX_QUEUE: '2' }, { gated: GATED });
      const gate = await holdModelLoads(ctx.t, ctx.sha256.gated);
      try {
        // The first request holds the worker; the second waits behind it: both count against the bound.
        const requests = Array.from({ length: 6 }, () => track(ctx.predict('gated', gatedInput)));
        await waitFor(() => requests.filter((r) => r.settled).length === 4, { what: 'four answers' });
        const rejected = await Promise.all(requests.filter((r) => r.settled).map((r) => r.promise));
        for (const r of rejected) {
          assert.equal(r.status, 429, JSON.stringify(r.body));
          assert.equal(r.headers['retry-after'], '1');
          assert.match(r.body.message, /INFERENCE_MAX_QUEUE/);
        }
        // One runs in the process, one waits on this side: both count against the bound.
        assert.equal(ctx.engine.status().inFlight, 1);
        assert.equal(ctx.engine.status().queueDepth.gated, 2);
        gate.release();
        const statuses = (await Promise.all(requests.map((r) => r.promise))).map((r) => r.status).sort();
        assert.deepEqual(statuses, [200, 200, 429, 429, 429, 429]);
      } finally {
        gate.release();
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

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Response } from 'supertest';
import { InferenceService, RestartReason } from '../../src/inference/inference.service';
import { BOMB_ELEMENTS, HANG_TRIP_COUNT, hangModel, memoryBombModel } from '../support/fault-models';
import { holdModelLoads } from '../support/model-gate';
import { mlpModel } from '../support/onnx-models';
import { authed, startTestApp } from '../support/test-app';
import { track, waitFor } from '../support/wait-for';

/**
 * Faults contained by the inference processes (engine v2): a model that never ends, one that
 * allocates without bound, a process killed from outside, a full queue, a deadline that passes
 * while a request waits. Each gets its status (504, 503, 429 with Retry-After) within its deadline,
 * the process at fault is replaced, and the other models keep answering meanwhile.
 *
 * The hang and the memory bomb are real ONNX graphs (test/support/fault-models.ts) that run until
 * their process ends, so no outcome here depends on how fast the machine is: a request that is
 * not stopped by the engine never answers, and the test fails on its deadline assertions.
 */

const MiB = 2 ** 20;
const mlpInput = { x: [[1, 2, 3, 4]] };
const hangInputs = (n: number) => ({ n, x: [[1, 2, 3, 4]] });
/** 2 GiB of float32 ones, held for as long as the run lasts (passes never end). */
const bombInputs = { shape: [BOMB_ELEMENTS], passes: 1e12 };
/** A model whose next load the test holds (model-gate.ts): a request in flight for as long as needed. */
const GATED = mlpModel({ seed: 41 });

async function withApp(env: Record<string, string>, models: Record<string, Buffer>) {
  // The cache would answer repeated requests without running them: these tests exercise the engine.
  const t = await startTestApp('sqlite', { env: { CACHE_DEFAULT_ENABLED: 'false', ...env } });
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
  const restartReasons: RestartReason[] = [];
  engine.events.on('restart', ({ reason }) => restartReasons.push(reason));
  const predict = (model: string, inputs: Record<string, unknown>): Promise<Response> =>
    http()
      .post('/api/v1/predictions')
      .send({ model, inputs })
      .then((res) => res);
  /** The pids of all `count` inference processes, once each has started. */
  const pids = (count: number): Promise<number[]> =>
    waitFor(
      () => {
        const pids = engine.status().processes.map((p) => p.pid);
        return pids.length === count && pids.every((pid) => pid !== undefined) ? (pids as number[]) : undefined;
      },
      { what: `${count} inference processes`, describe: () => JSON.stringify(engine.status().processes) },
    );
  return { t, http, engine, sha256, predict, pids, restartReasons };
}

type Ctx = Awaited<ReturnType<typeof withApp>>;

/** Sends MLP predictions one after another until `pending` settles; every one must answer 200. */
async function mlpWhile(ctx: Ctx, pending: { readonly settled: boolean }): Promise<number> {
  let answeredMeanwhile = 0;
  while (!pending.settled) {
    const res = await ctx.predict('mlp', mlpInput);
    assert.equal(res.status, 200, `the MLP keeps serving: ${JSON.stringify(res.body)}`);
    assert.deepEqual(res.body.outputs.y.shape, [1, 3]);
    if (!pending.settled) answeredMeanwhile++;
  }
  return answeredMeanwhile;
}

/** True once no process has this pid (the killed process has exited and been reaped). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Waits until one process of `before` was replaced by a new one, and answers the replaced pid. */
async function replacedPid(ctx: Ctx, before: number[], restarts: number): Promise<number> {
  await waitFor(() => ctx.engine.status().restarts === restarts, {
    what: `restarts to reach ${restarts}`,
    describe: () => String(ctx.engine.status().restarts),
  });
  const after = await ctx.pids(before.length);
  const dropped = before.filter((pid) => !after.includes(pid));
  const added = after.filter((pid) => !before.includes(pid));
  assert.equal(dropped.length, 1, `one process replaced: before ${before}, after ${after}`);
  assert.equal(added.length, 1, `one new process: before ${before}, after ${after}`);
  await waitFor(() => gone(dropped[0]), { what: `process ${dropped[0]} to exit` });
  return dropped[0];
}

describe('inference isolation', () => {
  it('answers 504 at the deadline of a model that never ends, replaces its process, and serves the others meanwhile', async () => {
    const timeoutMs = 1500;
    const ctx = await withApp(
      { INFERENCE_WORKERS: '2', INFERENCE_TIMEOUT_MS: String(timeoutMs) },
      { hang: hangModel(), mlp: mlpModel() },
    );
    try {
      // The hang model answers when its loop is short: it loaded and runs like any model.
      const short = await ctx.predict('hang', hangInputs(3));
      assert.equal(short.status, 200, JSON.stringify(short.body));
      assert.deepEqual(short.body.outputs.y.data, [1, 2, 3, 4]);
      await ctx.predict('mlp', mlpInput).then((res) => assert.equal(res.status, 200));
      const before = await ctx.pids(2);
      const restarts = ctx.engine.status().restarts;

      const started = performance.now();
      const hung = track(
        ctx.predict('hang', hangInputs(HANG_TRIP_COUNT)).then((res) => ({ res, elapsed: performance.now() - started })),
      );
      await waitFor(() => ctx.engine.status().queueDepth.hang === 1, { what: 'the hung request to be queued' });
      const answeredMeanwhile = await mlpWhile(ctx, hung);
      const { res, elapsed } = await hung.promise;

      assert.equal(res.status, 504, JSON.stringify(res.body));
      assert.equal(res.body.statusCode, 504);
      assert.ok(elapsed >= timeoutMs, `not before its deadline (${elapsed.toFixed(0)} ms)`);
      assert.ok(elapsed < timeoutMs + 1000, `at its deadline, not later (${elapsed.toFixed(0)} ms)`);
      assert.ok(answeredMeanwhile >= 1, 'the MLP answered while the hung request ran');

      await replacedPid(ctx, before, restarts + 1);
      assert.deepEqual(ctx.restartReasons, ['timeout']);
      // The replacement serves both models, the hang model included.
      await ctx.predict('mlp', mlpInput).then((r) => assert.equal(r.status, 200));
      const again = await ctx.predict('hang', hangInputs(1));
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(ctx.engine.status().queueDepth.hang ?? 0, 0, 'the hung request left the queue');
    } finally {
      await ctx.t.close();
    }
  });

  it('answers 503 when a run passes INFERENCE_PROCESS_MAX_RSS_BYTES, replaces its process, and serves the others meanwhile', async () => {
    const maxRss = 512 * MiB;
    const ctx = await withApp(
      {
        INFERENCE_WORKERS: '2',
        INFERENCE_PROCESS_MAX_RSS_BYTES: String(maxRss),
        // Far beyond the seconds the bomb needs to pass the ceiling: the 503 must come from the ceiling.
        INFERENCE_TIMEOUT_MS: '60000',
      },
      { bomb: memoryBombModel(), mlp: mlpModel() },
    );
    try {
      await ctx.predict('mlp', mlpInput).then((res) => assert.equal(res.status, 200));
      const before = await ctx.pids(2);
      const restarts = ctx.engine.status().restarts;

      const bomb = track(ctx.predict('bomb', bombInputs));
      await waitFor(() => ctx.engine.status().queueDepth.bomb === 1, { what: 'the bomb to be queued' });
      await mlpWhile(ctx, bomb);
      const res = await bomb.promise;

      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.statusCode, 503);
      await replacedPid(ctx, before, restarts + 1);
      assert.deepEqual(ctx.restartReasons, ['memory']);
      for (const p of ctx.engine.status().processes) {
        if (p.rssBytes !== undefined) assert.ok(p.rssBytes < maxRss, `process ${p.pid} back under the ceiling`);
      }

      // The same model with a small shape is an ordinary request.
      const small = await ctx.predict('bomb', { shape: [1000], passes: 1 });
      assert.equal(small.status, 200, JSON.stringify(small.body));
      assert.deepEqual(small.body.outputs.y.data, [1000]);
      await ctx.predict('mlp', mlpInput).then((r) => assert.equal(r.status, 200));
    } finally {
      await ctx.t.close();
    }
  });

  it('answers 503 for the request of a process killed with SIGKILL, replaces it, and keeps the HTTP process up', async () => {
    const ctx = await withApp({ INFERENCE_WORKERS: '1' }, { gated: GATED, mlp: mlpModel() });
    const gate = await holdModelLoads(ctx.t, ctx.sha256.gated);
    try {
      const [pid] = await ctx.pids(1);
      const restarts = ctx.engine.status().restarts;
      const held = track(ctx.predict('gated', mlpInput));
      await waitFor(() => ctx.engine.status().inFlight === 1, { what: 'the prediction to reach the process' });
      assert.equal(held.settled, false, 'the prediction is held in the process');

      process.kill(pid, 'SIGKILL');
      const res = await held.promise;
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.statusCode, 503);
      assert.equal(typeof res.body.requestId, 'string');
      // A replacement may read the gated model again: let it.
      gate.release();

      assert.equal(await replacedPid(ctx, [pid], restarts + 1), pid);
      assert.deepEqual(ctx.restartReasons, ['crash']);
      await ctx.predict('mlp', mlpInput).then((r) => assert.equal(r.status, 200, JSON.stringify(r.body)));
      await ctx.predict('gated', mlpInput).then((r) => assert.equal(r.status, 200, JSON.stringify(r.body)));
      await ctx.http().get('/health/live').expect(200);
      await ctx.http().get('/health/ready').expect(200);
    } finally {
      gate.release();
      await ctx.t.close();
    }
  });

  it('answers 429 with Retry-After past INFERENCE_MAX_QUEUE while a request holds the slot, and serves the others', async () => {
    const timeoutMs = 4000;
    const ctx = await withApp(
      { INFERENCE_WORKERS: '2', INFERENCE_MAX_QUEUE: '1', INFERENCE_TIMEOUT_MS: String(timeoutMs) },
      { hang: hangModel(), mlp: mlpModel() },
    );
    try {
      await ctx.predict('mlp', mlpInput).then((res) => assert.equal(res.status, 200));
      const restarts = ctx.engine.status().restarts;
      // The hung request holds the hang model's only slot until its deadline.
      const hung = track(ctx.predict('hang', hangInputs(HANG_TRIP_COUNT)));
      await waitFor(() => ctx.engine.status().queueDepth.hang === 1, { what: 'the hung request to take the slot' });

      const refused = await ctx.predict('hang', hangInputs(0));
      assert.equal(hung.settled, false, 'the slot was still held when the second request was refused');
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.match(String(refused.headers['retry-after']), /^[1-9][0-9]*$/);
      assert.match(refused.body.message, /INFERENCE_MAX_QUEUE/);
      const other = await ctx.predict('mlp', mlpInput);
      assert.equal(other.status, 200, 'another model has its own queue');
      assert.equal(hung.settled, false, 'the hung request still held the slot meanwhile');

      assert.equal((await hung.promise).status, 504);
      // The slot is free once the hung request's process is gone.
      await waitFor(() => ctx.engine.status().restarts === restarts + 1 && !ctx.engine.status().queueDepth.hang, {
        what: 'the hung process to be replaced and its slot freed',
      });
      const later = await ctx.predict('hang', hangInputs(0));
      assert.equal(later.status, 200, JSON.stringify(later.body));
    } finally {
      await ctx.t.close();
    }
  });

  it('answers 504 to a request whose deadline passes while it waits, without killing a process for it', async () => {
    const timeoutMs = 1500;
    const ctx = await withApp(
      { INFERENCE_WORKERS: '1', INFERENCE_TIMEOUT_MS: String(timeoutMs) },
      { hang: hangModel(), mlp: mlpModel() },
    );
    try {
      const restarts = ctx.engine.status().restarts;
      const hung = track(ctx.predict('hang', hangInputs(HANG_TRIP_COUNT)));
      await waitFor(() => ctx.engine.status().queueDepth.hang === 1 && ctx.engine.status().inFlight === 1, {
        what: 'the hung request to occupy the only process',
      });

      // Sent a few milliseconds after the hung request: its deadline passes while the only process
      // is still running that request, or is being replaced (a new process must start and load
      // ONNX Runtime and the models), so it is never dispatched.
      const started = performance.now();
      const waiting = await ctx.predict('mlp', mlpInput);
      const elapsed = performance.now() - started;
      assert.equal(waiting.status, 504, JSON.stringify(waiting.body));
      assert.ok(elapsed >= timeoutMs, `not before its deadline (${elapsed.toFixed(0)} ms)`);
      assert.ok(elapsed < timeoutMs + 1000, `at its deadline, not later (${elapsed.toFixed(0)} ms)`);
      assert.equal((await hung.promise).status, 504);

      // One process was replaced, for the hung request; none for the one that only waited.
      await waitFor(() => ctx.engine.status().restarts === restarts + 1, { what: 'the hung process to be replaced' });
      await ctx.predict('mlp', mlpInput).then((r) => assert.equal(r.status, 200, JSON.stringify(r.body)));
      assert.equal(ctx.engine.status().restarts, restarts + 1);
      assert.deepEqual(ctx.restartReasons, ['timeout']);
      assert.equal(ctx.engine.status().queueDepth.mlp ?? 0, 0, 'the waiting request left the queue');
    } finally {
      await ctx.t.close();
    }
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { AppConfig } from '../../src/config/app-config';
import { loadEnvironment } from '../../src/config/environment';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import {
  allResults,
  client,
  countRows,
  JobBody,
  json,
  mlpInstances,
  pairsModel,
  ResultItem,
  submitJob,
  uploadModel,
  waitForJob,
} from '../support/job-helpers';
import { fixedShapeModel, mlpModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { JobHooks } from '../../src/jobs/job-hooks';
import { JobRunnerService } from '../../src/jobs/job-runner.service';
import { gateHook, JobGate, noteStop } from '../support/job-gate';
import { slowModel } from '../support/slow-model';
import { startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';

/** Small chunks so a few hundred instances make many chunks (progress, cancellation, resume). */
const APP_ENV = { JOBS_CHUNK_SIZE: '16', JOBS_MAX_INSTANCES: '500', SHUTDOWN_GRACE_MS: '2000' };
const SLOW_WIDTH = 256;
const slowInstances = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    inputs: { x: [Array.from({ length: SLOW_WIDTH }, (_, j) => (i + j) % 7)] },
  }));

/** The outputs of a synchronous prediction on the same inputs. */
async function predict(http: ReturnType<typeof client>, model: string, inputs: unknown): Promise<unknown> {
  const body = await json<{ outputs: unknown }>(
    await http('/api/v1/predictions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model, inputs }),
    }),
    200,
  );
  return body.outputs;
}

function assertIndexes(results: ResultItem[], total: number): void {
  assert.deepEqual(
    results.map((r) => r.index),
    Array.from({ length: total }, (_, i) => i),
    'one result per instance, indexes 0..n-1 in order',
  );
}

for (const engine of testEngines()) {
  describe(`queued jobs on the in-process runner (${engine})`, () => {
    let t: TestApp;
    let http: ReturnType<typeof client>;

    before(async () => {
      t = await startTestApp(engine, { listen: true, env: APP_ENV });
      http = client(t.baseUrl as string);
      await uploadModel(http, 'mlp', mlpModel());
    });
    after(async () => {
      await t?.close();
    });

    it('runs 300 MLP instances to the outputs synchronous predictions give, with progress and paging', async () => {
      const instances = mlpInstances(300);
      const { res, job } = await submitJob(http, { model: 'mlp', instances });
      assert.equal(res.headers.get('location'), `/api/v1/jobs/${job.id}`);
      assert.equal(job.model, 'mlp');
      assert.equal(job.version, 1);
      assert.equal(job.status, 'queued');
      assert.deepEqual(job.progress, { done: 0, total: 300, percent: 0 });
      assert.equal(job.startedAt, null);

      const done = await waitForJob(http, job.id);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.deepEqual(done.progress, { done: 300, total: 300, percent: 100 });
      assert.equal(done.attempts, 1);
      assert.equal(done.error, null);
      assert.ok(done.startedAt && done.finishedAt && done.finishedAt >= done.startedAt);
      assert.deepEqual(Object.keys(done).sort(), [
        'actor',
        'attempts',
        'createdAt',
        'error',
        'errorKind',
        'finishedAt',
        'id',
        'model',
        'progress',
        'startedAt',
        'status',
        'version',
      ]);

      const results = await allResults(http, job.id);
      assertIndexes(results, 300);
      for (const result of results) {
        assert.equal(result.error, undefined);
        assert.deepEqual(
          result.outputs,
          await predict(http, 'mlp', instances[result.index].inputs),
          `#${result.index}`,
        );
      }

      const page = await json<{ items: ResultItem[]; total: number; skip: number; limit: number }>(
        await http(`/api/v1/jobs/${job.id}/results?skip=290&limit=20`),
        200,
      );
      assert.equal(page.total, 300);
      assert.deepEqual([page.skip, page.limit], [290, 20]);
      assert.deepEqual(
        page.items.map((r) => r.index),
        Array.from({ length: 10 }, (_, i) => 290 + i),
      );
      assert.equal(await countRows(t.dataSource, 'job_results'), 300);

      const metrics = await (await http('/metrics')).text();
      assert.match(metrics, /^modelforge_jobs_waiting 0$/m);
      assert.match(metrics, /^modelforge_jobs_active 0$/m);
      assert.match(metrics, /^modelforge_job_instances_per_second \d+(\.\d+)?$/m);
      assert.match(metrics, /^modelforge_job_instances_total\{outcome="ok"\} 300$/m);
    });

    it('accepts an NDJSON upload streamed in pieces, with the same results as the JSON body', async () => {
      const instances = mlpInstances(40, 4, 5);
      const text = `${instances.map((i) => JSON.stringify(i)).join('\n')}\n\n`;
      // Pieces that cut lines in the middle, as a network would.
      const pieces = text.match(/[\s\S]{1,37}/g) as string[];
      const stream = new ReadableStream({
        start(controller) {
          for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
          controller.close();
        },
      });
      const res = await http('/api/v1/jobs?model=mlp&version=1', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-ndjson' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      const job = await json<JobBody>(res, 202);
      assert.equal(job.progress.total, 40);
      assert.equal((await waitForJob(http, job.id)).status, 'completed');
      const results = await allResults(http, job.id);
      assertIndexes(results, 40);
      assert.deepEqual(results[17].outputs, await predict(http, 'mlp', instances[17].inputs));
    });
  });
}

describe('queued jobs on the in-process runner: errors, cancellation, deletion, restarts', () => {
  let t: TestApp;
  let http: ReturnType<typeof client>;
  // Holds a running job at a chunk boundary, so a test acts on it while it is surely running.
  const gate = JobGate.create();

  before(async () => {
    t = await startTestApp('sqlite', { listen: true, jobGate: gate, env: { ...APP_ENV, JOBS_CONCURRENCY: '1' } });
    http = client(t.baseUrl as string);
    await uploadModel(http, 'mlp', mlpModel());
    await uploadModel(http, 'pairs', pairsModel());
    await uploadModel(http, 'fixed', fixedShapeModel());
    await uploadModel(http, 'slow', slowModel({ width: SLOW_WIDTH, layers: 300 }));
  });
  after(async () => {
    gate.clearRules();
    gate.releaseAll();
    await t?.close();
    gate.remove();
  });

  it('records an instance that ONNX Runtime rejects as that instance error and completes the job', async () => {
    const instances = [[[1, 2]], [[1, 2, 3]], [[4, 5]], [[6, 7, 8]], [[9, 10]], [[11, 12]]].map((x) => ({
      inputs: { x },
    }));
    const { job } = await submitJob(http, { model: 'pairs', instances });
    const done = await waitForJob(http, job.id);
    assert.equal(done.status, 'completed');
    assert.equal(done.progress.done, 6);
    const results = await allResults(http, job.id);
    assertIndexes(results, 6);
    for (const bad of [1, 3]) {
      assert.equal(results[bad].outputs, undefined);
      assert.match(results[bad].error ?? '', /ONNX Runtime rejected the inputs/);
    }
    for (const good of [0, 2, 4, 5]) {
      assert.equal(results[good].error, undefined);
      assert.deepEqual(results[good].outputs, await predict(http, 'pairs', instances[good].inputs));
    }
    const errors = (await (await http('/metrics')).text()).match(
      /modelforge_job_instances_total\{outcome="error"\} (\d+)/,
    );
    assert.ok(errors && Number(errors[1]) >= 2, 'failed instances are counted');
  });

  it('runs a model without a batch dimension instance by instance', async () => {
    const instances = Array.from({ length: 5 }, (_, i) => ({
      inputs: {
        x: [
          [i, 1, 2],
          [3, 4, -i],
        ],
      },
    }));
    const { job } = await submitJob(http, { model: 'fixed', instances });
    assert.equal((await waitForJob(http, job.id)).status, 'completed');
    const results = await allResults(http, job.id);
    assert.deepEqual(results[4].outputs, { y: { dtype: 'float32', shape: [2, 3], data: [-4, -1, -2, -3, -4, 4] } });
  });

  it('rejects a submission with one bad instance with 400 naming its index, storing nothing', async () => {
    const before = await countRows(t.dataSource, 'jobs');
    const instances = mlpInstances(10);
    instances[7] = { inputs: { x: [[1, 2, 3]] } };
    const res = await http('/api/v1/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'mlp', instances }),
    });
    const body = await json<{ message: string; details: { field: string; problem: string }[] }>(res, 400);
    assert.match(body.message, /instances\[7\]\.inputs\.x/);
    assert.equal(body.details[0].field, 'instances[7].inputs.x');
    assert.match(body.details[0].problem, /dimension 1 must be 4, got 3/);

    const ndjson = await http('/api/v1/jobs?model=mlp', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-ndjson' },
      body: `${JSON.stringify(mlpInstances(1)[0])}\n\n${JSON.stringify({ inputs: { y: [[1]] } })}\n`,
    });
    const ndBody = await json<{ message: string }>(ndjson, 400);
    assert.match(ndBody.message, /instances\[1\]\.inputs\.y is not an input of this model.*\(line 3\)/);

    for (const [status, body, pattern] of [
      [404, { model: 'ghost', instances: mlpInstances(1) }, /ghost/],
      [404, { model: 'mlp', version: 9, instances: mlpInstances(1) }, /no version 9/],
      [413, { model: 'mlp', instances: mlpInstances(501) }, /at most 500 instances/],
      [400, { model: 'mlp', instances: [] }, /at least one instance/],
      [400, { model: 'mlp', instances: [{ inputs: { x: [[1, 2, 3, 4]] }, extra: 1 }] }, /instances\[0\]\.extra/],
      [400, { model: 'mlp', instances: mlpInstances(1), priority: 'high' }, /priority is not a field/],
    ] as const) {
      const refused = await http('/api/v1/jobs', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.match((await json<{ message: string }>(refused, status)).message, pattern);
    }
    const line = `${JSON.stringify(mlpInstances(1)[0])}\n`;
    const json1 = JSON.stringify({ model: 'mlp', instances: mlpInstances(1) });
    for (const [status, query, type, body, pattern] of [
      [400, '', 'application/x-ndjson', line, /names its model in the query: \?model=NAME/],
      [400, '?model=mlp', 'application/json', json1, /names model and version in its body, not in the query/],
      [400, '', 'application/json', '', /must be a JSON object \{model, version\?, instances\}/],
      [415, '', 'text/csv', 'x,y', /application\/json/],
    ] as const) {
      const refused = await http(`/api/v1/jobs${query}`, {
        method: 'POST',
        headers: { 'Content-Type': type },
        body,
      });
      assert.match((await json<{ message: string }>(refused, status)).message, pattern, `${type} ${query}`);
    }
    assert.equal(await countRows(t.dataSource, 'jobs'), before);
    const stats = await json<{ details: { queue: { waiting: number } } }>(await http('/health/ready'), 200);
    assert.equal(stats.details.queue.waiting, 0);
  });

  it('answers 400 to a bad line early in a large NDJSON upload while the client is still sending', async () => {
    const good = `${JSON.stringify(mlpInstances(1)[0])}\n`;
    // The client keeps sending until it has the answer: the body only ends by itself after far
    // more than the server could need (the cap), and then the test fails.
    const CAP = 20_000;
    let sent = 0;
    let answered = false;
    let endedBeforeAnswer = false;
    const body = new ReadableStream({
      async pull(controller) {
        if (answered) return controller.close();
        if (sent === CAP) {
          endedBeforeAnswer = true;
          return controller.close();
        }
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"inputs": {"x": [[1, 2]]}}\n'));
        else controller.enqueue(new TextEncoder().encode(good.repeat(100)));
        sent++;
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    const res = await http('/api/v1/jobs?model=mlp', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-ndjson' },
      body,
      duplex: 'half',
    } as RequestInit);
    answered = true;
    assert.equal(endedBeforeAnswer, false, `the server waited for the whole upload (${sent} pieces)`);
    const answer = await json<{ message: string }>(res, 400);
    assert.match(answer.message, /instances\[0\]\.inputs\.x .*\(line 1\)/);
  });

  it('cancels a queued job before it runs and a running job at its next chunk', async () => {
    gate.hold({ chunk: 1 });
    const { job: running } = await submitJob(http, { model: 'slow', instances: slowInstances(400) });
    const { job: queued } = await submitJob(http, { model: 'slow', instances: slowInstances(50) });
    const held = await gate.held({ jobId: running.id, chunk: 1 });

    const cancelledQueued = await json<JobBody>(
      await http(`/api/v1/jobs/${queued.id}/cancel`, { method: 'POST' }),
      202,
    );
    assert.equal(cancelledQueued.status, 'cancelled');
    const requested = await json<JobBody>(await http(`/api/v1/jobs/${running.id}/cancel`, { method: 'POST' }), 202);
    assert.equal(requested.status, 'running');
    gate.clearRules();
    gate.release(held);

    const stopped = await waitForJob(http, running.id);
    assert.equal(stopped.status, 'cancelled');
    assert.ok(stopped.progress.done < 400, `stopped at ${stopped.progress.done}`);
    assert.equal(stopped.progress.done % 16, 0, 'stops on a chunk boundary');
    assert.equal((await allResults(http, running.id)).length, stopped.progress.done);

    // The queued job never ran, even after the running one made room: a job queued after it
    // completes, so the runner has gone past it.
    const { job: later } = await submitJob(http, { model: 'mlp', instances: mlpInstances(5) });
    assert.equal((await waitForJob(http, later.id)).status, 'completed');
    const never = await json<JobBody>(await http(`/api/v1/jobs/${queued.id}`), 200);
    assert.equal(never.status, 'cancelled');
    assert.equal(never.attempts, 0);
    assert.equal(never.startedAt, null);
    assert.equal((await allResults(http, queued.id)).length, 0);

    const again = await http(`/api/v1/jobs/${running.id}/cancel`, { method: 'POST' });
    assert.match((await json<{ message: string }>(again, 409)).message, /already cancelled/);
  });

  it('deletes a finished job with its results, and a running one stops', async () => {
    const { job } = await submitJob(http, { model: 'mlp', instances: mlpInstances(20) });
    await waitForJob(http, job.id);
    const completedCancel = await http(`/api/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    assert.equal(completedCancel.status, 409);
    await json(await http(`/api/v1/jobs/${job.id}`, { method: 'DELETE' }), 204);
    await json(await http(`/api/v1/jobs/${job.id}`), 404);
    await json(await http(`/api/v1/jobs/${job.id}/results`), 404);
    await json(await http(`/api/v1/jobs/${job.id}`, { method: 'DELETE' }), 404);
    const left: { n: number }[] = await t.dataSource.query(
      'SELECT (SELECT COUNT(*) FROM job_results WHERE job_id = $1) + (SELECT COUNT(*) FROM job_instances WHERE job_id = $1) AS n'.replace(
        /\$1/g,
        `'${job.id}'`,
      ),
    );
    assert.equal(Number(left[0].n), 0);

    gate.hold({ chunk: 1 });
    const { job: running } = await submitJob(http, { model: 'slow', instances: slowInstances(400) });
    const held = await gate.held({ jobId: running.id, chunk: 1 });
    await json(await http(`/api/v1/jobs/${running.id}`, { method: 'DELETE' }), 204);
    gate.clearRules();
    gate.release(held);
    // The runner notices at its next chunk and the queue moves on to the next job.
    const { job: next } = await submitJob(http, { model: 'mlp', instances: mlpInstances(5) });
    assert.equal((await waitForJob(http, next.id)).status, 'completed');
    const rows: { n: number }[] = await t.dataSource.query(
      `SELECT COUNT(*) AS n FROM job_results WHERE job_id = '${running.id}'`,
    );
    assert.equal(Number(rows[0].n), 0);
  });

  it('lists jobs newest first, filtered by status and model', async () => {
    const all = await json<{ items: JobBody[]; total: number }>(await http('/api/v1/jobs?limit=100'), 200);
    assert.ok(all.total >= 5);
    assert.deepEqual(
      all.items.map((j) => j.createdAt),
      all.items
        .map((j) => j.createdAt)
        .sort()
        .reverse(),
    );
    const cancelled = await json<{ items: JobBody[] }>(await http('/api/v1/jobs?status=cancelled&model=slow'), 200);
    assert.ok(cancelled.items.length >= 2);
    assert.ok(cancelled.items.every((j) => j.status === 'cancelled' && j.model === 'slow'));
    await json(await http('/api/v1/jobs?status=done'), 400);
    await json(await http('/api/v1/jobs/not-a-uuid'), 400);
  });
});

describe('queued jobs on the in-process runner across a restart', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-jobs-restart-'));
  const gate = JobGate.create();
  const config = new AppConfig(
    loadEnvironment({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ...APP_ENV,
      SHUTDOWN_GRACE_MS: '5000',
    }),
  );
  let app: NestExpressApplication | undefined;

  /** The app on `dataDir`, its job hooks driven by the gate, noting in it when its runner begins to stop. */
  async function start(): Promise<ReturnType<typeof client>> {
    app = await createApp(config, pino({ level: 'silent' }));
    app.get(JobHooks).beforeChunk = gateHook(gate.dir);
    const runner = app.get(JobRunnerService);
    const stop = runner.stop.bind(runner);
    runner.stop = () => {
      noteStop(gate.dir);
      return stop();
    };
    await app.listen(0, '127.0.0.1');
    return client((await app.getUrl()).replace('[::1]', '127.0.0.1'));
  }

  after(async () => {
    gate.remove();
    await app?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('releases a running job at shutdown and resumes queued and running jobs at start, without duplicates', async () => {
    let http = await start();
    await uploadModel(http, 'mlp', mlpModel());
    gate.hold({ chunk: 2, attempt: 1 });
    const { job: first } = await submitJob(http, { model: 'mlp', instances: mlpInstances(300) });
    const { job: second } = await submitJob(http, { model: 'mlp', instances: mlpInstances(40) });
    // Held before its third chunk (JOBS_CHUNK_SIZE 16); the second job waits behind it.
    const held = await gate.held({ jobId: first.id, chunk: 2 });
    const closing = app?.close();
    await gate.stopped(process.pid);
    gate.release(held);
    await closing;
    app = undefined;

    // Closed mid-job: the chunk in flight when the runner began to stop was saved, and the job handed back.
    const ds = await startDataSource();
    const [released] = await ds.query(`SELECT status, done, lease FROM jobs WHERE id = '${first.id}'`);
    assert.equal(released.status, 'queued');
    assert.equal(released.lease, null);
    assert.equal(Number(released.done), 48, 'chunks 0 to 2 saved, no more');
    const [waiting] = await ds.query(`SELECT status, done FROM jobs WHERE id = '${second.id}'`);
    assert.deepEqual([waiting.status, Number(waiting.done)], ['queued', 0]);
    // As if the process had died while running it: still 'running', its lease owned by nobody.
    await ds.query(`UPDATE jobs SET status = 'running', lease = 'dead' WHERE id = '${first.id}'`);
    await ds.destroy();

    gate.clearRules();
    http = await start();
    for (const id of [first.id, second.id]) {
      const done = await waitForJob(http, id);
      assert.equal(done.status, 'completed');
      const results = await allResults(http, id);
      assertIndexes(results, done.progress.total);
      assert.ok(results.every((r) => r.outputs !== undefined));
    }
    const resumed = await json<JobBody>(await http(`/api/v1/jobs/${first.id}`), 200);
    assert.equal(resumed.attempts, 2, 'the resume is a second attempt');
    assert.deepEqual(
      gate.arrivals({ jobId: first.id, attempt: 2 })[0]?.chunk,
      3,
      'the second attempt starts at the first chunk not saved',
    );
  });

  /** The same database, opened beside the (stopped) app, as the next start will read it. */
  function startDataSource(): Promise<DataSource> {
    return new DataSource({ ...buildDataSourceOptions(config), migrationsRun: false }).initialize();
  }
});

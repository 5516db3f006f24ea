import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Queue } from 'bull';
import type { DataSource } from 'typeorm';
import {
  allResults,
  client,
  dropQueue,
  getJob,
  JobBody,
  json,
  mlpInstances,
  pairsModel,
  REDIS_TEST_URL,
  redisKeys,
  redisPrefix,
  ResultItem,
  submitJob,
  testQueue,
  uploadModel,
  waitForJob,
} from '../support/job-helpers';
import { BullJobQueue } from '../../src/jobs/queue/bull-job-queue';
import { JobQueue } from '../../src/jobs/queue/job-queue';
import { shiftClock } from '../support/clock';
import { JobGate } from '../support/job-gate';
import { mlpModel } from '../support/onnx-models';
import { startTestApp, TestApp } from '../support/test-app';

async function countRows(ds: DataSource, table: string): Promise<number> {
  const rows: { n: number | string }[] = await ds.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0].n);
}

function bullEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: REDIS_TEST_URL,
    JOBS_QUEUE_PREFIX: prefix,
    JOBS_CHUNK_SIZE: '16',
    JOBS_MAX_INSTANCES: '500',
    SHUTDOWN_GRACE_MS: '3000',
    ...extra,
  };
}

/**
 * Where a test needs a job to be running (or waiting) at a given moment, a JobGate holds it at a
 * chunk boundary until the test releases it: nothing depends on how fast the machine runs a job.
 */
describe('queued jobs on Bull and Redis (APP_ROLE=all)', () => {
  const prefix = redisPrefix('bull');
  const gate = JobGate.create();
  let queue: Queue;
  let t: TestApp;
  let http: ReturnType<typeof client>;

  before(async () => {
    queue = testQueue(prefix);
    t = await startTestApp('sqlite', {
      listen: true,
      jobGate: gate,
      env: bullEnv(prefix, { JOBS_CONCURRENCY: '1', QUEUE_DASHBOARD_ENABLED: 'true' }),
    });
    http = client(t.baseUrl as string);
    await uploadModel(http, 'mlp', mlpModel());
    await uploadModel(http, 'pairs', pairsModel());
  });
  after(async () => {
    gate.remove();
    await t?.close();
    if (queue) await dropQueue(queue, prefix);
  });

  it('runs 300 MLP instances through Redis to the outputs synchronous predictions give', async () => {
    const instances = mlpInstances(300, 4, 23);
    const { res, job } = await submitJob(http, { model: 'mlp', instances });
    assert.equal(res.headers.get('location'), `/api/v1/jobs/${job.id}`);
    const done = await waitForJob(http, job.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.progress, { done: 300, total: 300, percent: 100 });
    assert.equal(done.attempts, 1);
    const results = await allResults(http, job.id);
    assert.deepEqual(
      results.map((r) => r.index),
      Array.from({ length: 300 }, (_, i) => i),
    );
    for (const index of [0, 1, 150, 299]) {
      const sync = await json<{ outputs: unknown }>(
        await http('/api/v1/predictions', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: 'mlp', inputs: instances[index].inputs }),
        }),
        200,
      );
      assert.deepEqual(results[index].outputs, sync.outputs, `#${index}`);
    }
    // Completed Bull jobs are removed: the jobs table keeps the record.
    assert.equal(await queue.getJob(job.id), null);
    const ready = await json<{ details: { queue: Record<string, unknown> } }>(await http('/health/ready'), 200);
    assert.equal(ready.details.queue.runner, 'bull');
    assert.equal(ready.details.queue.status, 'up');
    assert.ok((ready.details.queue.instancesPerSecond as number) > 0);
  });

  it('uses the job UUID as the Bull job id and carries only that id', async () => {
    gate.hold({ chunk: 0, attempt: 1 });
    const { job } = await submitJob(http, { model: 'mlp', instances: mlpInstances(64) });
    const held = await gate.held({ jobId: job.id });
    gate.clearRules();
    // Held, so still in Redis (a completed Bull job is removed).
    const bullJob = await queue.getJob(job.id);
    assert.ok(bullJob, 'the Bull job exists under the job UUID');
    assert.deepEqual(bullJob.data, { jobId: job.id });
    gate.release(held);
    assert.equal((await waitForJob(http, job.id)).status, 'completed');
  });

  it('records instances ONNX Runtime rejects as their own errors', async () => {
    const instances = [[[1, 2]], [[1, 2, 3]], [[4, 5]]].map((x) => ({ inputs: { x } }));
    const { job } = await submitJob(http, { model: 'pairs', instances });
    assert.equal((await waitForJob(http, job.id)).status, 'completed');
    const results = await allResults(http, job.id);
    assert.match(results[1].error ?? '', /ONNX Runtime rejected the inputs/);
    assert.deepEqual(results[2].outputs, { y: { dtype: 'float32', shape: [1, 2], data: [4, 5] } });
  });

  it('stores and queues nothing for a refused submission', async () => {
    const keysBefore = (await redisKeys(queue, prefix)).sort();
    const jobsBefore = await countRows(t.dataSource, 'jobs');
    const instancesBefore = await countRows(t.dataSource, 'job_instances');
    const instances = mlpInstances(10);
    instances[7] = { inputs: { x: [[1, 2, 3, 4, 5]] } };
    const res = await http('/api/v1/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'mlp', instances }),
    });
    assert.equal((await json<{ details: { field: string }[] }>(res, 400)).details[0].field, 'instances[7].inputs.x');
    await json(
      await http('/api/v1/jobs', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'mlp', instances: mlpInstances(501) }),
      }),
      413,
    );
    await json(
      await http('/api/v1/jobs?model=ghost', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-ndjson' },
        body: `${JSON.stringify(mlpInstances(1)[0])}\n`,
      }),
      404,
    );
    assert.equal(await countRows(t.dataSource, 'jobs'), jobsBefore);
    assert.equal(await countRows(t.dataSource, 'job_instances'), instancesBefore);
    assert.deepEqual((await redisKeys(queue, prefix)).sort(), keysBefore);
    const counts = await queue.getJobCounts();
    assert.equal(counts.waiting + counts.active + counts.delayed, 0);
  });

  it('cancels a queued job (it never runs) and a running one (it stops at a chunk boundary)', async () => {
    // JOBS_CONCURRENCY=1: while the first job is held at its second chunk, the other one waits.
    gate.hold({ chunk: 1, attempt: 1 });
    const { job: running } = await submitJob(http, { model: 'mlp', instances: mlpInstances(400) });
    const { job: queued } = await submitJob(http, { model: 'mlp', instances: mlpInstances(40) });
    const held = await gate.held({ jobId: running.id });
    gate.clearRules();
    assert.equal((await queue.getJob(queued.id))?.data.jobId, queued.id);

    const cancelled = await json<JobBody>(await http(`/api/v1/jobs/${queued.id}/cancel`, { method: 'POST' }), 202);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(await queue.getJob(queued.id), null, 'taken out of Redis');
    const requested = await json<JobBody>(await http(`/api/v1/jobs/${running.id}/cancel`, { method: 'POST' }), 202);
    assert.equal(requested.status, 'running', 'a running job stops at its next chunk boundary');
    gate.release(held);

    const stopped = await waitForJob(http, running.id);
    assert.equal(stopped.status, 'cancelled');
    // The held chunk (the second) runs and is saved; the cancel is seen before the third.
    assert.equal(stopped.progress.done, 32);
    assert.equal((await allResults(http, running.id)).length, 32);
    const never = await json<JobBody>(await http(`/api/v1/jobs/${queued.id}`), 200);
    assert.deepEqual([never.status, never.attempts, never.startedAt], ['cancelled', 0, null]);
    await json(await http(`/api/v1/jobs/${queued.id}/cancel`, { method: 'POST' }), 409);
  });

  it('serves a read-only bull-board at /admin/queues when enabled', async () => {
    const page = await http('/admin/queues');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const api = await json<{ queues: { name: string; readOnlyMode: boolean }[] }>(
      await http('/admin/queues/api/queues'),
      200,
    );
    assert.deepEqual(
      api.queues.map((q) => [q.name, q.readOnlyMode]),
      [['inference', true]],
    );
  });

  it('deletes a job with its results, and takes a queued one out of Redis', async () => {
    gate.hold({ chunk: 1, attempt: 1 });
    const { job: running } = await submitJob(http, { model: 'mlp', instances: mlpInstances(200) });
    const { job: waiting } = await submitJob(http, { model: 'mlp', instances: mlpInstances(10) });
    // The first job cannot finish while held, so the second is still waiting in Redis.
    await json(await http(`/api/v1/jobs/${waiting.id}`, { method: 'DELETE' }), 204);
    assert.equal(await queue.getJob(waiting.id), null);
    const held = await gate.held({ jobId: running.id });
    gate.clearRules();
    await waitForJob(http, running.id, (j) => j.progress.done === 16);
    await json(await http(`/api/v1/jobs/${running.id}`, { method: 'DELETE' }), 204);
    await json(await http(`/api/v1/jobs/${running.id}/results`), 404);
    gate.release(held);
    // The runner notices at its next chunk boundary and the queue moves on.
    const { job: next } = await submitJob(http, { model: 'mlp', instances: mlpInstances(3) });
    assert.equal((await waitForJob(http, next.id)).status, 'completed');
    const left: { n: number }[] = await t.dataSource.query(
      `SELECT COUNT(*) AS n FROM job_results WHERE job_id IN ('${running.id}', '${waiting.id}')`,
    );
    assert.equal(Number(left[0].n), 0);
  });

  it('queues again at start a job the database holds but Redis lost', async () => {
    gate.hold({ chunk: 1, attempt: 1 });
    const { job: running } = await submitJob(http, { model: 'mlp', instances: mlpInstances(200) });
    const { job: lost } = await submitJob(http, { model: 'mlp', instances: mlpInstances(3) });
    const held = await gate.held({ jobId: running.id });
    // Redis loses the waiting job (a flush, a failover without persistence).
    await (await queue.getJob(lost.id))?.remove();
    gate.clearRules();
    gate.release(held);
    assert.equal((await waitForJob(http, running.id)).status, 'completed');
    assert.equal((await getJob(http, lost.id)).status, 'queued', 'nothing runs a job Redis lost');
    // What a start does: every job the database has queued or running, and Redis has not, is queued again.
    (t.app.get(JobQueue) as BullJobQueue).onApplicationBootstrap();
    assert.equal((await waitForJob(http, lost.id)).status, 'completed');
  });
});

describe('queued jobs on Bull: attempts, backoff and failure', () => {
  const prefix = redisPrefix('bull-fail');
  const gate = JobGate.create();
  // Never reached in real time: the test moves the clock past it (test/support/clock.ts).
  const TIMEOUT_MS = 3_600_000;
  const BACKOFF_MS = 300;
  let queue: Queue;
  let t: TestApp;
  let http: ReturnType<typeof client>;

  before(async () => {
    queue = testQueue(prefix);
    t = await startTestApp('sqlite', {
      listen: true,
      jobGate: gate,
      env: bullEnv(prefix, {
        JOBS_TIMEOUT_MS: String(TIMEOUT_MS),
        JOBS_ATTEMPTS: '2',
        JOBS_BACKOFF_MS: String(BACKOFF_MS),
        JOBS_CHUNK_SIZE: '8',
      }),
    });
    http = client(t.baseUrl as string);
    await uploadModel(http, 'mlp', mlpModel());
  });
  after(async () => {
    gate.remove();
    await t?.close();
    if (queue) await dropQueue(queue, prefix);
  });

  it('retries a failed attempt after a backoff, resuming, and fails the job once its attempts are used', async (ctx) => {
    // Attempt 1 fails on demand at its fourth chunk; attempt 2 is held at its sixth while the
    // clock moves past its JOBS_TIMEOUT_MS.
    gate.failAt({ chunk: 3, attempt: 1 });
    gate.hold({ chunk: 5, attempt: 2 });
    const { job } = await submitJob(http, { model: 'mlp', instances: mlpInstances(100) });

    const failedAt = await gate.arrival({ jobId: job.id, chunk: 3, attempt: 1, action: 'fail' });
    const held = await gate.held({ jobId: job.id, chunk: 5, attempt: 2 });
    gate.clearRules();
    const resumedAt = gate.arrivals({ jobId: job.id, attempt: 2 })[0];
    assert.equal(resumedAt.chunk, 3, 'the second attempt resumes at the chunk the first one failed on');
    const waited = resumedAt.at - failedAt.at;
    assert.ok(waited >= BACKOFF_MS, `the retry waited for JOBS_BACKOFF_MS (${waited} ms)`);
    const during = await waitForJob(http, job.id, (j) => j.progress.done === 40);
    assert.deepEqual([during.status, during.attempts], ['running', 2]);

    shiftClock(ctx).advance(TIMEOUT_MS + 1);
    gate.release(held);

    const failed = await waitForJob(http, job.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts, 2);
    assert.match(failed.error ?? '', new RegExp(`JOBS_TIMEOUT_MS \\(${TIMEOUT_MS} ms\\)`));
    assert.equal(failed.progress.done, 48, 'the held chunk ran and was saved; the deadline stopped the next one');
    assert.ok(failed.finishedAt);
    const results: ResultItem[] = await allResults(http, job.id);
    assert.deepEqual(
      results.map((r) => r.index),
      Array.from({ length: 48 }, (_, i) => i),
    );
    const bullJob = await queue.getJob(job.id);
    assert.equal(await bullJob?.getState(), 'failed');
  });

  it('fails a job whose version was deleted while it waited, without retrying', async () => {
    await uploadModel(http, 'doomed', mlpModel({ seed: 3 }));
    await uploadModel(http, 'doomed', mlpModel({ seed: 4 }));
    // JOBS_CONCURRENCY=1: the doomed job waits behind the held one while its version is deleted.
    gate.hold({ chunk: 0, attempt: 1 });
    const { job: blocker } = await submitJob(http, { model: 'mlp', instances: mlpInstances(8) });
    const held = await gate.held({ jobId: blocker.id });
    gate.clearRules();
    const { job } = await submitJob(http, { model: 'doomed', version: 1, instances: mlpInstances(4) });
    await json(await http('/api/v1/models/doomed/versions/1', { method: 'DELETE' }), 204);
    gate.release(held);
    const failed = await waitForJob(http, job.id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /Version 1 of 'doomed' was deleted/);
    assert.equal(failed.attempts, 1);
    assert.equal((await waitForJob(http, blocker.id)).status, 'completed');
    assert.equal((await getJob(http, job.id)).attempts, 1, 'never retried');
  });
});

describe('queued jobs when Redis is unreachable', () => {
  let t: TestApp;
  let http: ReturnType<typeof client>;

  before(async () => {
    // Nothing listens on port 1: every connection is refused at once.
    t = await startTestApp('sqlite', { listen: true, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    http = client(t.baseUrl as string);
    await uploadModel(http, 'mlp', mlpModel());
  });
  after(async () => {
    await t?.close();
  });

  it('answers 503 to a submission and stores nothing; readiness stays 200 with the queue degraded', async () => {
    const res = await http('/api/v1/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'mlp', instances: mlpInstances(3) }),
    });
    assert.match((await json<{ message: string }>(res, 503)).message, /job queue is unavailable/);
    assert.equal(await countRows(t.dataSource, 'jobs'), 0);
    assert.equal(await countRows(t.dataSource, 'job_instances'), 0);
    // Predictions still work: the process stays ready, the queue degraded.
    const ready = await json<{ details: Record<string, { status: string; message?: string }> }>(
      await http('/health/ready'),
      200,
    );
    assert.equal(ready.details.queue.status, 'degraded');
    assert.match(ready.details.queue.message ?? '', /job queue is unreachable/);
    // The dashboard is off unless enabled.
    assert.equal((await http('/admin/queues')).status, 404);
  });
});

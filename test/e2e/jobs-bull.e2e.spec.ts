import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Queue } from 'bull';
import type { DataSource } from 'typeorm';
import {
  allResults,
  client,
  dropQueue,
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
import { mlpModel } from '../support/onnx-models';
import { slowModel } from '../support/slow-model';
import { startTestApp, TestApp } from '../support/test-app';

const SLOW_WIDTH = 256;
const slowInstances = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    inputs: { x: [Array.from({ length: SLOW_WIDTH }, (_, j) => (i * j) % 5)] },
  }));

async function countRows(ds: DataSource, table: string): Promise<number> {
  const rows: { n: number | string }[] = await ds.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0].n);
}

const wideInstances = (count: number) =>
  slowInstances(count).map(({ inputs }) => ({ inputs: { x: [[...inputs.x[0], ...inputs.x[0]]] } }));

function bullEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: REDIS_TEST_URL,
    JOBS_QUEUE_PREFIX: prefix,
    JOBS_CHUNK_SIZE: '16',
    JOBS_MAX_INSTANCES: '500',
    JOBS_LOCK_MS: '2000',
    SHUTDOWN_GRACE_MS: '3000',
    ...extra,
  };
}

describe('queued jobs on Bull and Redis (APP_ROLE=all)', () => {
  const prefix = redisPrefix('bull');
  let queue: Queue;
  let t: TestApp;
  let http: ReturnType<typeof client>;

  before(async () => {
    queue = testQueue(prefix);
    t = await startTestApp('sqlite', {
      listen: true,
      env: bullEnv(prefix, { JOBS_CONCURRENCY: '1', QUEUE_DASHBOARD_ENABLED: 'true' }),
    });
    http = client(t.baseUrl as string);
    await uploadModel(http, 'mlp', mlpModel());
    await uploadModel(http, 'pairs', pairsModel());
    await uploadModel(http, 'slow', slowModel({ width: SLOW_WIDTH, layers: 300 }));
  });
  after(async () => {
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
    const { job } = await submitJob(http, { model: 'slow', instances: slowInstances(64) });
    const bullJob = await queue.getJob(job.id);
    assert.ok(bullJob, 'the Bull job exists under the job UUID');
    assert.deepEqual(bullJob.data, { jobId: job.id });
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
    const { job: running } = await submitJob(http, { model: 'slow', instances: slowInstances(400) });
    const { job: queued } = await submitJob(http, { model: 'slow', instances: slowInstances(40) });
    await waitForJob(http, running.id, (j) => j.progress.done > 0);
    assert.equal((await queue.getJob(queued.id))?.data.jobId, queued.id);

    const cancelled = await json<JobBody>(await http(`/api/v1/jobs/${queued.id}/cancel`, { method: 'POST' }), 202);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(await queue.getJob(queued.id), null, 'taken out of Redis');
    await json<JobBody>(await http(`/api/v1/jobs/${running.id}/cancel`, { method: 'POST' }), 202);

    const stopped = await waitForJob(http, running.id);
    assert.equal(stopped.status, 'cancelled');
    assert.ok(stopped.progress.done > 0 && stopped.progress.done < 400);
    assert.equal(stopped.progress.done % 16, 0);
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
    const { job: running } = await submitJob(http, { model: 'slow', instances: slowInstances(200) });
    const { job: waiting } = await submitJob(http, { model: 'mlp', instances: mlpInstances(10) });
    await json(await http(`/api/v1/jobs/${waiting.id}`, { method: 'DELETE' }), 204);
    assert.equal(await queue.getJob(waiting.id), null);
    await waitForJob(http, running.id, (j) => j.progress.done > 0);
    await json(await http(`/api/v1/jobs/${running.id}`, { method: 'DELETE' }), 204);
    await json(await http(`/api/v1/jobs/${running.id}/results`), 404);
    const { job: next } = await submitJob(http, { model: 'mlp', instances: mlpInstances(3) });
    assert.equal((await waitForJob(http, next.id)).status, 'completed');
    const left: { n: number }[] = await t.dataSource.query(
      `SELECT COUNT(*) AS n FROM job_results WHERE job_id IN ('${running.id}', '${waiting.id}')`,
    );
    assert.equal(Number(left[0].n), 0);
  });
});

describe('queued jobs on Bull: attempts, backoff and failure', () => {
  const prefix = redisPrefix('bull-fail');
  let queue: Queue;
  let t: TestApp;
  let http: ReturnType<typeof client>;

  before(async () => {
    queue = testQueue(prefix);
    t = await startTestApp('sqlite', {
      listen: true,
      env: bullEnv(prefix, {
        JOBS_TIMEOUT_MS: '1000',
        JOBS_ATTEMPTS: '2',
        JOBS_BACKOFF_MS: '300',
        JOBS_CHUNK_SIZE: '8',
      }),
    });
    http = client(t.baseUrl as string);
    // About 150 M multiply-adds per instance: 500 instances take several 1 s attempts.
    await uploadModel(http, 'slow', slowModel({ width: 2 * SLOW_WIDTH, layers: 600 }));
  });
  after(async () => {
    await t?.close();
    if (queue) await dropQueue(queue, prefix);
  });

  it('retries a failed attempt after a backoff, resuming, and fails the job once its attempts are used', async () => {
    const { job } = await submitJob(http, { model: 'slow', instances: wideInstances(500) });
    const first = await waitForJob(http, job.id, (j) => j.attempts === 1 && j.status === 'queued' && j.error !== null);
    assert.match(
      first.error ?? '',
      /JOBS_TIMEOUT_MS \(1000 ms\)/,
      'the first attempt timed out and waits for its retry',
    );
    const saved = first.progress.done;
    assert.ok(saved > 0, 'progress of the first attempt is kept');

    const failed = await waitForJob(http, job.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts, 2);
    assert.match(failed.error ?? '', /JOBS_TIMEOUT_MS/);
    assert.ok(failed.progress.done > saved, 'the second attempt resumed and went further');
    assert.ok(failed.finishedAt);
    const results: ResultItem[] = await allResults(http, job.id);
    assert.equal(results.length, failed.progress.done);
    const bullJob = await queue.getJob(job.id);
    assert.equal(await bullJob?.getState(), 'failed');
  });

  it('fails a job whose version was deleted while it waited, without retrying', async () => {
    await uploadModel(http, 'doomed', mlpModel({ seed: 3 }));
    await uploadModel(http, 'doomed', mlpModel({ seed: 4 }));
    // JOBS_CONCURRENCY=1: the doomed job waits behind this one while its version is deleted.
    const { job: blocker } = await submitJob(http, { model: 'slow', instances: wideInstances(16) });
    const { job } = await submitJob(http, { model: 'doomed', version: 1, instances: mlpInstances(4) });
    await json(await http('/api/v1/models/doomed/versions/1', { method: 'DELETE' }), 204);
    const failed = await waitForJob(http, job.id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /Version 1 of 'doomed' was deleted/);
    assert.equal(failed.attempts, 1);
    await waitForJob(http, blocker.id);
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

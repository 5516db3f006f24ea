import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Queue } from 'bull';
import {
  client,
  dropQueue,
  getJob,
  JobBody,
  mlpInstances,
  REDIS_TEST_URL,
  redisPrefix,
  submitJob,
  testQueue,
  uploadModel,
  waitForJob,
} from '../support/job-helpers';
import { JobGate } from '../support/job-gate';
import { mlpModel } from '../support/onnx-models';
import { ServiceProcess, spawnService } from '../support/service-process';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * An HTTP API process (the test app, APP_ROLE=api) and worker processes (dist/src/main.js with
 * APP_ROLE=worker) sharing PostgreSQL, DATA_DIR and one Bull queue in Redis. The workers run with
 * a JobGate: a test holds a job at a chunk boundary to kill or stop its worker there, whatever
 * the speed of the machine.
 */
describe('job workers as separate processes (PostgreSQL, Redis)', () => {
  const prefix = redisPrefix('workers');
  const gate = JobGate.create();
  let queue: Queue;
  let api: TestApp;
  let http: ReturnType<typeof client>;
  const workers: ServiceProcess[] = [];

  const QUEUE_ENV = {
    REDIS_URL: REDIS_TEST_URL,
    JOBS_QUEUE_PREFIX: prefix,
    JOBS_CHUNK_SIZE: '8',
    // A dead worker's lock expires after 2 s and the stalled check runs every 2 s; a live worker
    // renews its lock every second.
    JOBS_LOCK_MS: '2000',
  };

  async function startWorker(): Promise<ServiceProcess> {
    const worker = await spawnService(
      {
        ...QUEUE_ENV,
        APP_ROLE: 'worker',
        DATABASE_URL: api.config.database.url as string,
        DATABASE_MIGRATIONS_RUN: 'false',
        DATA_DIR: api.dataDir,
        INFERENCE_WORKERS: '1',
        SHUTDOWN_GRACE_MS: '10000',
      },
      { jobGate: gate },
    );
    workers.push(worker);
    return worker;
  }

  /** Job ids a worker process started attempts on, from its JSON log. */
  function attemptsBy(worker: ServiceProcess): string[] {
    return worker
      .stdout()
      .split('\n')
      .slice(0, -1) // complete lines only
      .filter((line) => line.includes('job attempt started'))
      .map((line) => (JSON.parse(line) as { jobId: string }).jobId);
  }

  async function resultRows(id: string): Promise<{ n: number; distinct: number; min: number; max: number }> {
    const [row] = await api.dataSource.query(
      'SELECT COUNT(*) AS n, COUNT(DISTINCT idx) AS "distinct", MIN(idx) AS min, MAX(idx) AS max FROM job_results WHERE job_id = $1',
      [id],
    );
    return { n: Number(row.n), distinct: Number(row.distinct), min: Number(row.min), max: Number(row.max) };
  }

  before(async () => {
    queue = testQueue(prefix);
    api = await startTestApp('postgres', { listen: true, env: { ...QUEUE_ENV, APP_ROLE: 'api' } });
    http = client(api.baseUrl as string);
    await uploadModel(http, 'mlp', mlpModel());
  });
  after(async () => {
    gate.remove();
    await Promise.all(workers.map((w) => w.stop()));
    await api?.close();
    if (queue) await dropQueue(queue, prefix);
  });

  it('refuses to start a split role without REDIS_URL', async () => {
    const lonely = await spawnService({ APP_ROLE: 'worker' }, false);
    try {
      assert.equal((await lonely.exited).code, 1);
      assert.match(lonely.stderr(), /APP_ROLE=worker needs REDIS_URL/);
    } finally {
      await lonely.stop();
    }
  });

  it('an API process only produces: a job waits in Redis until a worker runs', async () => {
    const { job } = await submitJob(http, { model: 'mlp', instances: mlpInstances(5) });
    // No process has registered as a consumer of the queue (Bull names its worker connections).
    assert.deepEqual(await queue.getWorkers(), []);
    assert.equal(await (await queue.getJob(job.id))?.getState(), 'waiting');
    const worker = await startWorker();
    assert.equal((await waitForJob(http, job.id)).status, 'completed');
    assert.equal((await queue.getWorkers()).length, 1, 'the worker process is the one consumer');
    // The worker answers its probes and nothing else.
    assert.equal((await fetch(`${worker.baseUrl}/health/ready`)).status, 200);
    assert.equal((await fetch(`${worker.baseUrl}/health/live`)).status, 200);
    for (const path of ['/api/v1/models', '/api/v1/jobs', '/docs', '/docs-json', '/v2']) {
      const res = await fetch(`${worker.baseUrl}${path}`);
      assert.equal(res.status, 404, path);
      // Under /v2 in the Open Inference Protocol's error body, {error}.
      const body = (await res.json()) as { message?: string; error?: string };
      assert.match((path === '/v2' ? body.error : body.message) ?? '', /APP_ROLE=worker/);
    }
  });

  it('a worker killed with SIGKILL mid-job: another worker resumes it, one result per instance', async () => {
    const first = workers[0];
    gate.hold({ chunk: 3, attempt: 1 });
    const { job } = await submitJob(http, { model: 'mlp', instances: mlpInstances(480) });
    const held = await gate.held({ jobId: job.id });
    gate.clearRules();
    assert.equal(held.pid, first.child.pid);
    // Three chunks of 8 ran; the third one's save may still be in flight when the hold begins.
    await waitForJob(http, job.id, (j) => j.progress.done === 24);
    first.child.kill('SIGKILL');
    await first.exited;
    const orphan = await getJob(http, job.id);
    assert.equal(orphan.status, 'running', 'the database still says running: nobody told it otherwise');
    assert.equal(orphan.progress.done, 24);

    await startWorker();
    const done = await waitForJob(http, job.id, undefined, 60_000);
    assert.equal(done.status, 'completed');
    assert.equal(done.attempts, 2);
    assert.equal(gate.arrivals({ jobId: job.id, attempt: 2 })[0].chunk, 3, 'the second attempt resumed at chunk 3');
    assert.deepEqual(await resultRows(job.id), { n: 480, distinct: 480, min: 0, max: 479 });
  });

  it('on SIGTERM a worker saves its chunk, releases the job to Redis and exits; the next worker finishes it', async () => {
    const worker = workers[workers.length - 1];
    gate.hold({ chunk: 2, attempt: 1 });
    const { job } = await submitJob(http, { model: 'mlp', instances: mlpInstances(480) });
    const held = await gate.held({ jobId: job.id });
    gate.clearRules();
    await waitForJob(http, job.id, (j) => j.progress.done === 16);
    worker.child.kill('SIGTERM');
    // Released only once the runner is stopping: the held chunk runs, is saved, and the job is
    // handed back at the next boundary.
    await gate.stopped(worker.child.pid as number);
    gate.release(held);
    const { code } = await worker.exited;
    assert.equal(code, 0, worker.stderr());
    const released = await getJob(http, job.id);
    assert.equal(released.status, 'queued');
    assert.equal(released.progress.done, 24);
    assert.equal(await (await queue.getJob(job.id))?.getState(), 'waiting', 'back in the wait list at once');

    await startWorker();
    const done = await waitForJob(http, job.id, undefined, 60_000);
    assert.equal(done.status, 'completed');
    assert.deepEqual(await resultRows(job.id), { n: 480, distinct: 480, min: 0, max: 479 });
  });

  it('two workers share one job stream, each job run once', async () => {
    const running = workers[workers.length - 1];
    const added = await startWorker();
    // Each worker runs one job at a time (JOBS_CONCURRENCY=1): two jobs held at once are one per worker.
    gate.hold({ chunk: 0, attempt: 1 });
    const jobs: JobBody[] = [];
    for (let i = 0; i < 8; i++) jobs.push((await submitJob(http, { model: 'mlp', instances: mlpInstances(40) })).job);
    const held = await gate.heldTogether(2, { chunk: 0, attempt: 1 });
    assert.deepEqual(held.map((e) => e.pid).sort(), [running.child.pid, added.child.pid].sort());
    gate.clearRules();
    gate.releaseAll();
    for (const job of jobs) {
      const done = await waitForJob(http, job.id, undefined, 60_000);
      assert.equal(done.status, 'completed');
      assert.equal(done.attempts, 1);
      assert.deepEqual(await resultRows(job.id), { n: 40, distinct: 40, min: 0, max: 39 });
    }
    const ids = new Set(jobs.map((j) => j.id));
    const started = () => [...attemptsBy(running), ...attemptsBy(added)].filter((id) => ids.has(id));
    // Log lines travel through a pipe: wait until every attempt's line has arrived.
    await waitFor(() => new Set(started()).size === 8, { what: 'a log line per job attempt' });
    assert.equal(started().length, 8, 'no job ran twice');
  });
});

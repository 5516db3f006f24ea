import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Queue } from 'bull';
import {
  client,
  dropQueue,
  JobBody,
  json,
  mlpInstances,
  REDIS_TEST_URL,
  redisPrefix,
  submitJob,
  testQueue,
  uploadModel,
  waitForJob,
} from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import { ServiceProcess, spawnService } from '../support/service-process';
import { slowModel } from '../support/slow-model';
import { startTestApp, TestApp } from '../support/test-app';

const WIDTH = 256;
const slowInstances = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    inputs: { x: [Array.from({ length: WIDTH }, (_, j) => (i + 3 * j) % 11)] },
  }));

/**
 * An HTTP API process (the test app, APP_ROLE=api) and worker processes (dist/src/main.js with
 * APP_ROLE=worker) sharing PostgreSQL, DATA_DIR and one Bull queue in Redis.
 */
describe('job workers as separate processes (PostgreSQL, Redis)', () => {
  const prefix = redisPrefix('workers');
  let queue: Queue;
  let api: TestApp;
  let http: ReturnType<typeof client>;
  const workers: ServiceProcess[] = [];

  const QUEUE_ENV = {
    REDIS_URL: REDIS_TEST_URL,
    JOBS_QUEUE_PREFIX: prefix,
    JOBS_CHUNK_SIZE: '8',
    // A dead worker's lock expires after 1 s and the stalled check runs every second.
    JOBS_LOCK_MS: '1000',
  };

  async function startWorker(): Promise<ServiceProcess> {
    const worker = await spawnService({
      ...QUEUE_ENV,
      APP_ROLE: 'worker',
      DATABASE_URL: api.config.databaseUrl as string,
      DATABASE_MIGRATIONS_RUN: 'false',
      DATA_DIR: api.dataDir,
      INFERENCE_WORKERS: '1',
      SHUTDOWN_GRACE_MS: '10000',
    });
    workers.push(worker);
    return worker;
  }

  /** Job ids a worker process started attempts on, from its JSON log. */
  function attemptsBy(worker: ServiceProcess): string[] {
    return worker
      .stdout()
      .split('\n')
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
    await uploadModel(http, 'slow', slowModel({ width: WIDTH, layers: 300 }));
    await uploadModel(http, 'mlp', mlpModel());
  });
  after(async () => {
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
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await (await queue.getJob(job.id))?.getState(), 'waiting');
    const worker = await startWorker();
    assert.equal((await waitForJob(http, job.id)).status, 'completed');
    // The worker answers its probes and nothing else.
    assert.equal((await fetch(`${worker.baseUrl}/health/ready`)).status, 200);
    assert.equal((await fetch(`${worker.baseUrl}/health/live`)).status, 200);
    for (const path of ['/api/v1/models', '/api/v1/jobs', '/docs', '/docs-json', '/v2']) {
      const res = await fetch(`${worker.baseUrl}${path}`);
      assert.equal(res.status, 404, path);
      assert.match(((await res.json()) as { message: string }).message, /APP_ROLE=worker/);
    }
  });

  it('a worker killed with SIGKILL mid-job: another worker resumes it, one result per instance', async () => {
    const first = workers[0];
    const { job } = await submitJob(http, { model: 'slow', instances: slowInstances(480) });
    await waitForJob(http, job.id, (j) => j.progress.done >= 24);
    first.child.kill('SIGKILL');
    await first.exited;
    const orphan = await json<JobBody>(await http(`/api/v1/jobs/${job.id}`), 200);
    assert.equal(orphan.status, 'running', 'the database still says running: nobody told it otherwise');
    assert.ok(orphan.progress.done < 480, 'killed mid-job');

    await startWorker();
    const done = await waitForJob(http, job.id, undefined, 60_000);
    assert.equal(done.status, 'completed');
    assert.equal(done.attempts, 2);
    assert.deepEqual(await resultRows(job.id), { n: 480, distinct: 480, min: 0, max: 479 });
  });

  it('on SIGTERM a worker saves its chunk, releases the job to Redis and exits; the next worker finishes it', async () => {
    const worker = workers[workers.length - 1];
    const { job } = await submitJob(http, { model: 'slow', instances: slowInstances(480) });
    await waitForJob(http, job.id, (j) => j.progress.done >= 16);
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    assert.equal(code, 0, worker.stderr());
    const released = await json<JobBody>(await http(`/api/v1/jobs/${job.id}`), 200);
    assert.equal(released.status, 'queued');
    assert.ok(released.progress.done > 0 && released.progress.done % 8 === 0, `done ${released.progress.done}`);
    assert.equal(await (await queue.getJob(job.id))?.getState(), 'waiting', 'back in the wait list at once');

    await startWorker();
    const done = await waitForJob(http, job.id, undefined, 60_000);
    assert.equal(done.status, 'completed');
    assert.deepEqual(await resultRows(job.id), { n: 480, distinct: 480, min: 0, max: 479 });
  });

  it('two workers share one job stream, each job run once', async () => {
    const running = workers[workers.length - 1];
    const added = await startWorker();
    const jobs: JobBody[] = [];
    for (let i = 0; i < 8; i++) jobs.push((await submitJob(http, { model: 'slow', instances: slowInstances(40) })).job);
    for (const job of jobs) {
      const done = await waitForJob(http, job.id, undefined, 60_000);
      assert.equal(done.status, 'completed');
      assert.equal(done.attempts, 1);
      assert.deepEqual(await resultRows(job.id), { n: 40, distinct: 40, min: 0, max: 39 });
    }
    const ids = new Set(jobs.map((j) => j.id));
    const byRunning = attemptsBy(running).filter((id) => ids.has(id));
    const byAdded = attemptsBy(added).filter((id) => ids.has(id));
    assert.ok(byRunning.length > 0 && byAdded.length > 0, `both worked: ${byRunning.length} + ${byAdded.length}`);
    assert.equal(new Set([...byRunning, ...byAdded]).size, 8);
    assert.equal(byRunning.length + byAdded.length, 8, 'no job ran twice');
  });
});

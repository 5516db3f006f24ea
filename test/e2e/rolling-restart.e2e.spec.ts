import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import {
  allResults,
  client,
  getJob,
  mlpInstances,
  redisPrefix,
  submitJob,
  uploadModel,
  waitForJob,
} from '../support/job-helpers';
import { JobGate } from '../support/job-gate';
import { mlpModel } from '../support/onnx-models';
import { createPostgresDatabase, TestDatabase, testEngines } from '../support/postgres';
import { dropRedisKeys, redisTestUrl } from '../support/redis-server';
import { RoundRobinProxy } from '../support/round-robin-proxy';
import { S3RVER_CREDENTIALS, startS3Server, TestS3 } from '../support/s3-server';
import { freePort, ServiceProcess, spawnService } from '../support/service-process';
import { waitFor } from '../support/wait-for';

/**
 * A rolling restart under load: 3 API processes (APP_ROLE=api) and 2 job workers (APP_ROLE=worker),
 * each `node dist/src/main.js`, sharing PostgreSQL, Redis and an S3 bucket (s3rver) and nothing on
 * disk: each process has a DATA_DIR of its own, and a restarted process starts on a new, empty one
 * (as a pod's emptyDir). They run behind a round-robin proxy that follows readiness
 * (test/support/round-robin-proxy.ts). While a few clients
 * send predictions through the proxy, each API process in turn gets SIGTERM, exits after its drain,
 * and is started again on the same port. No request may fail; a job held mid-run by its worker
 * across the restarts completes with exactly one result per instance.
 */

const API_PROCESSES = 3;
const WORKERS = 2;
const CLIENTS = 3;
/** Requests a restarted process must have answered through the proxy before the next restart. */
const REJOINED_AFTER = 10;
const INSTANCES = 40;
const X = [[0.5, -1.25, 3, 0.1]];

/** One request of the load: what the client saw. */
interface Outcome {
  status: number;
  error?: string;
  body?: string;
}

// A rolling restart needs a database the processes share: PostgreSQL (not run when TEST_POSTGRES=off).
if (testEngines().includes('postgres'))
  describe('a rolling restart of every API process under prediction load (PostgreSQL, Redis, S3)', () => {
    const prefix = redisPrefix('rolling');
    const gate = JobGate.create();
    let database: TestDatabase;
    let s3: TestS3;
    let bucket: string;
    let proxy: RoundRobinProxy;
    const apis: ServiceProcess[] = [];
    const workers: ServiceProcess[] = [];

    const env = (extra: Record<string, string>): Record<string, string> => ({
      ...s3.env(bucket),
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      DATABASE_URL: database.url,
      DATABASE_MIGRATIONS_RUN: 'false',
      REDIS_URL: redisTestUrl(),
      JOBS_QUEUE_PREFIX: prefix,
      JOBS_CHUNK_SIZE: '4',
      INFERENCE_WORKERS: '1',
      // Twenty proxy probe intervals: this only bounds how long the proxy may take to see readiness
      // turn 503 (as in process.e2e.spec.ts); the process closes when it ends.
      SHUTDOWN_DRAIN_MS: '2000',
      SHUTDOWN_GRACE_MS: '10000',
      LOG_LEVEL: 'warn',
      ...extra,
    });
    const startApi = (port: number, migrate = false) =>
      spawnService(env({ APP_ROLE: 'api', ...(migrate ? { DATABASE_MIGRATIONS_RUN: 'true' } : {}) }), {
        port,
      });

    before(async () => {
      database = await createPostgresDatabase();
      s3 = await startS3Server();
      bucket = await s3.createBucket();
      const ports = await Promise.all(Array.from({ length: API_PROCESSES }, () => freePort()));
      // The first runs the migrations; the others start on the schema it made.
      apis.push(await startApi(ports[0], true));
      apis.push(...(await Promise.all(ports.slice(1).map((port) => startApi(port)))));
      for (let i = 0; i < WORKERS; i++) {
        workers.push(await spawnService(env({ APP_ROLE: 'worker' }), { jobGate: gate }));
      }
      proxy = await RoundRobinProxy.start(
        apis.map((api) => api.baseUrl),
        { probeIntervalMs: 100 },
      );
      await waitFor(() => apis.every((api) => proxy.inRotation(api.baseUrl)), { what: 'every API in rotation' });
    });
    after(async () => {
      gate.remove();
      await proxy?.close();
      await Promise.all([...apis, ...workers].map((p) => p.stop()));
      await database?.drop();
      await s3?.stop();
      await dropRedisKeys(prefix);
    });

    it('answers every request and completes a job running across the restarts', async () => {
      const http = client(proxy.url);
      await uploadModel(http, 'ranker', mlpModel({ seed: 3 }));
      // The file is in the bucket; every process reads it from there into a DATA_DIR of its own.
      assert.equal((await s3.keys(bucket)).length, 1);
      assert.equal(new Set([...apis, ...workers].map((p) => p.dataDir)).size, API_PROCESSES + WORKERS);
      // The job is taken up by a worker and held at its third chunk until every API process restarted.
      gate.hold({ chunk: 2, attempt: 1 });
      const { job } = await submitJob(http, { model: 'ranker', instances: mlpInstances(INSTANCES) });
      await gate.held({ jobId: job.id });

      const outcomes: Outcome[] = [];
      let stop = false;
      const loadClient = async () => {
        while (!stop) {
          try {
            const res = await http('/api/v1/predictions', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ model: 'ranker', inputs: { x: X } }),
            });
            const body = await res.text();
            outcomes.push(res.status === 200 ? { status: 200 } : { status: res.status, body });
          } catch (error) {
            outcomes.push({ status: 0, error: String((error as Error).cause ?? error) });
          }
        }
      };
      const load = Array.from({ length: CLIENTS }, () => loadClient());
      try {
        await waitFor(() => outcomes.length >= 20, { what: 'the load to run' });
        for (let i = 0; i < apis.length; i++) {
          const old = apis[i];
          const port = Number(new URL(old.baseUrl).port);
          old.child.kill('SIGTERM');
          const { code } = await old.exited;
          assert.equal(code, 0, `API ${i} exit: ${old.stderr()}`);
          // The proxy stopped sending to it because readiness said 503, not because it was gone.
          assert.deepEqual(
            proxy.stats.removals.filter((r) => r.backend === old.baseUrl).map((r) => r.reason),
            ['not-ready'],
          );
          apis[i] = await startApi(port);
          proxy.stats.removals.length = 0;
          // Back in rotation and answering: the next restart does not begin with one process short.
          const before = proxy.stats.forwarded.get(old.baseUrl) ?? 0;
          await waitFor(() => (proxy.stats.forwarded.get(old.baseUrl) ?? 0) >= before + REJOINED_AFTER, {
            what: `API ${i} to serve again after its restart`,
          });
        }
      } finally {
        stop = true;
        await Promise.all(load);
      }

      const failed = outcomes.filter((o) => o.status !== 200);
      assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} requests failed`);
      assert.equal(proxy.stats.proxyErrors, 0);

      assert.equal((await getJob(http, job.id)).status, 'running', 'the job ran across the restarts');
      gate.releaseAll();
      gate.clearRules();
      const done = await waitForJob(http, job.id);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      // In the table itself, not only as the API pages it: one row per instance, none twice.
      const db = new Client({ connectionString: database.url });
      await db.connect();
      try {
        const { rows } = await db.query<{ n: string; distinct: string }>(
          'SELECT COUNT(*) AS n, COUNT(DISTINCT idx) AS "distinct" FROM job_results WHERE job_id = $1',
          [job.id],
        );
        assert.deepEqual(rows[0], { n: String(INSTANCES), distinct: String(INSTANCES) });
      } finally {
        await db.end();
      }
      const results = await allResults(http, job.id);
      assert.deepEqual(
        results.map((r) => r.index),
        Array.from({ length: INSTANCES }, (_, i) => i),
        'one result per instance',
      );
      assert.ok(results.every((r) => r.outputs && !r.error));
    });
  });

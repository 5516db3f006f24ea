/**
 * How jobs are stored: payloads past one part (1 MiB) in numbered parts, SQLite writes in
 * transactions of a few megabytes with the job hidden as 'storing' until complete, results saved
 * over whatever a failed attempt left, instance reads bounded by bytes, and SQLite checkpoints in
 * a thread of their own. All of it keeps the HTTP thread free of long statements (issue 8).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ConflictError } from '../../src/common/errors';
import { SqliteCheckpointer } from '../../src/database/sqlite-checkpointer';
import type { InstanceOutcome } from '../../src/jobs/chunk-executor';
import type { StoredInstance } from '../../src/jobs/instance-codec';
import { JobStore, NewJob } from '../../src/jobs/job-store';
import { PART_BYTES } from '../../src/jobs/payload-parts';
import {
  allResults,
  client,
  countRows,
  json,
  JobBody,
  submitJob,
  uploadModel,
  waitForJob,
} from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

const MiB = 1024 * 1024;
/** Rows of an MLP instance (4 inputs, 3 outputs) whose data and outputs both take several parts. */
const BIG_ROWS = 100_000;

/** `count` instances of `bytes` bytes each (byte i of instance k is (k + i) % 251), for `JobStore.create`. */
function instancesOf(count: number, bytes: number): StoredInstance[] {
  return Array.from({ length: count }, (_, k) => ({
    header: JSON.stringify({ k }),
    data: Buffer.from(Array.from({ length: bytes }, (_, i) => (k + i) % 251)),
  }));
}

async function* iterate<T>(items: T[], failAfter?: number): AsyncIterable<T> {
  let i = 0;
  for await (const item of items) {
    if (i++ === failAfter) throw new Error('the spool could not be read (test)');
    yield item;
  }
}

/** Rows of every jobs table: a submission that fails must leave these as they were. */
async function allJobRows(t: TestApp): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['jobs', 'job_instances', 'job_instance_parts', 'job_results', 'job_result_parts']) {
    counts[table] = await countRows(t.dataSource, table);
  }
  return counts;
}

for (const engine of testEngines()) {
  describe(`job storage (${engine})`, () => {
    let t: TestApp;
    let http: ReturnType<typeof client>;
    let store: JobStore;
    let target: Omit<NewJob, 'total'>;

    before(async () => {
      t = await startTestApp(engine, { listen: true });
      http = client(t.baseUrl as string);
      store = t.app.get(JobStore);
      await uploadModel(http, 'mlp', mlpModel());
      const [version] = await t.dataSource.query(
        `SELECT v.id AS "versionId", m.id AS "modelId" FROM model_versions v JOIN models m ON m.id = v.model_id`,
      );
      target = {
        modelId: version.modelId,
        modelVersionId: version.versionId,
        modelName: 'mlp',
        version: 1,
        actor: 'admin-key',
      };
    });
    after(async () => {
      await t?.close();
    });

    it('runs an instance whose data and outputs take several parts to the outputs a prediction gives', async () => {
      const inputs = { x: Array.from({ length: BIG_ROWS }, (_, i) => [i % 7, (i % 5) / 2, -(i % 3), 1]) };
      const { job } = await submitJob(http, { model: 'mlp', instances: [{ inputs }] });
      const [{ n: instanceParts }] = await t.dataSource.query(
        `SELECT COUNT(*) AS n FROM job_instance_parts WHERE job_id = '${job.id}'`,
      );
      // 100,000 rows of 4 float32: 1.6 MB, part 0 in the instance row and one more part.
      assert.equal(Number(instanceParts), Math.ceil((BIG_ROWS * 16) / PART_BYTES) - 1);
      assert.equal((await waitForJob(http, job.id)).status, 'completed');
      const [{ n: resultParts }] = await t.dataSource.query(
        `SELECT COUNT(*) AS n FROM job_result_parts WHERE job_id = '${job.id}'`,
      );
      assert.ok(Number(resultParts) >= 2, `the outputs take ${Number(resultParts) + 1} parts`);
      const [result] = await allResults(http, job.id);
      const predicted = await json<{ outputs: unknown }>(
        await http('/api/v1/predictions', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: 'mlp', inputs }),
        }),
        200,
      );
      assert.deepEqual(result.outputs, predicted.outputs);

      assert.equal((await http(`/api/v1/jobs/${job.id}`, { method: 'DELETE' })).status, 204);
      const left = await t.dataSource.query(
        `SELECT (SELECT COUNT(*) FROM job_instance_parts WHERE job_id = '${job.id}') AS i,
                (SELECT COUNT(*) FROM job_result_parts WHERE job_id = '${job.id}') AS r`,
      );
      assert.deepEqual([Number(left[0].i), Number(left[0].r)], [0, 0], 'parts go with their job');
    });

    it('leaves nothing behind when storing the instances fails halfway, after several writes', async () => {
      const before = await allJobRows(t);
      // 6 instances of 1.5 MB: instance rows and parts over several transactions before the failure.
      const instances = instancesOf(6, 1.5 * MiB);
      await assert.rejects(store.create({ ...target, total: 6 }, iterate(instances, 4)), /could not be read/);
      assert.deepEqual(await allJobRows(t), before);
    });

    it('reads instances back whole, a byte budget at a time', async () => {
      const instances = instancesOf(5, 1.25 * MiB);
      const job = await store.create({ ...target, total: 5 }, iterate(instances));
      // Two instances reach 2.5 MB: a budget of 2 MiB stops after the second.
      const first = await store.instances(job.id, 0, 5, 2 * MiB);
      assert.deepEqual(
        first.map((i) => i.index),
        [0, 1],
      );
      const rest = await store.instances(job.id, 2, 5, 64 * MiB);
      assert.deepEqual(
        rest.map((i) => i.index),
        [2, 3, 4],
      );
      for (const read of [...first, ...rest]) {
        assert.equal(read.header, instances[read.index].header);
        assert.ok(read.data.equals(instances[read.index].data), `instance ${read.index} comes back byte for byte`);
      }
      assert.equal((await store.instances(job.id, 4, 5, 1)).length, 1, 'one instance at least, whatever the budget');
      await store.delete(job.id);
    });

    it('saves results over the parts a failed attempt left, and nothing once the lease is lost', async () => {
      const job = await store.create({ ...target, total: 3 }, iterate(instancesOf(3, 16)));
      const lease = await store.claim(job.id);
      assert.ok(lease);
      // A previous attempt wrote parts of long outputs for instance 1 and died before saving its rows.
      await t.dataSource.query(
        `INSERT INTO job_result_parts (job_id, idx, part, outputs) VALUES ('${job.id}', 1, 1, 'stale'), ('${job.id}', 1, 2, 'stale')`,
      );
      const long = JSON.stringify({ y: { dtype: 'float32', shape: [1], data: ['x'.repeat(2.5 * MiB)] } });
      const outcomes: InstanceOutcome[] = [
        { index: 0, outputs: '{"y":0}' },
        { index: 1, outputs: '{"y":1}' },
      ];
      assert.equal(await store.saveChunk(job.id, lease, 0, outcomes), true);
      assert.equal(await store.saveChunk(job.id, 'not-the-lease', 2, [{ index: 2, outputs: long }]), false);
      assert.equal(await store.saveChunk(job.id, lease, 2, [{ index: 2, outputs: long }]), true);
      const [rows, total] = await store.results(job.id, 0, 10);
      assert.equal(total, 3);
      assert.deepEqual(
        rows.map((r) => r.outputs),
        ['{"y":0}', '{"y":1}', long],
      );
      assert.equal((await store.find(job.id))?.done, 3);
      await store.delete(job.id);
    });
  });
}

describe('job storage in steps on SQLite', () => {
  let t: TestApp;
  let http: ReturnType<typeof client>;

  before(async () => {
    t = await startTestApp('sqlite', { listen: true });
    http = client(t.baseUrl as string);
    await uploadModel(http, 'mlp', mlpModel());
  });
  after(async () => {
    await t?.close();
  });

  it('never shows a job still being stored, and sweeps one a crash left behind', async () => {
    const [model] = await t.dataSource.query(`SELECT id FROM models`);
    const storing = (id: string, age: string) =>
      t.dataSource.query(
        `INSERT INTO jobs (id, model_id, model_name, version, status, total, created_at, updated_at)
         VALUES ('${id}', '${model.id}', 'mlp', 1, 'storing', 1, datetime('now', '${age}'), datetime('now', '${age}'))`,
      );
    const fresh = '11111111-1111-4111-8111-111111111111';
    const stale = '22222222-2222-4222-8222-222222222222';
    await storing(fresh, '-1 minutes');
    await storing(stale, '-11 minutes');
    const list = await json<{ items: JobBody[]; total: number }>(await http('/api/v1/jobs'), 200);
    assert.deepEqual(list, { ...list, items: [], total: 0 });
    for (const id of [fresh, stale]) {
      assert.equal((await http(`/api/v1/jobs/${id}`)).status, 404);
      assert.equal((await http(`/api/v1/jobs/${id}/results`)).status, 404);
      assert.equal((await http(`/api/v1/jobs/${id}/cancel`, { method: 'POST' })).status, 404);
      assert.equal((await http(`/api/v1/jobs/${id}`, { method: 'DELETE' })).status, 404);
    }
    await t.app.get(JobStore).sweepHalfStored();
    const left = await t.dataSource.query(`SELECT id FROM jobs`);
    assert.deepEqual(
      left.map((r: { id: string }) => r.id),
      [fresh],
      'only what is old enough to be a leftover goes',
    );
  });

  it('answers 409 and leaves nothing when the model is deleted while the job is being stored', async () => {
    await uploadModel(http, 'doomed', mlpModel());
    const [row] = await t.dataSource.query(
      `SELECT m.id AS "modelId", v.id AS "versionId" FROM models m JOIN model_versions v ON v.model_id = m.id WHERE m.name = 'doomed'`,
    );
    const before = await allJobRows(t);
    const instances = instancesOf(4, 1.5 * MiB);
    async function* deletingTheModel(): AsyncIterable<StoredInstance> {
      for (const [i, instance] of instances.entries()) {
        // Between two of the store's transactions, as a DELETE from another request would land.
        if (i === 2) await t.dataSource.query(`DELETE FROM models WHERE id = '${row.modelId}'`);
        yield instance;
      }
    }
    const store = t.app.get(JobStore);
    const job = {
      modelId: row.modelId,
      modelVersionId: row.versionId,
      modelName: 'doomed',
      version: 1,
      total: 4,
      actor: 'admin-key',
    };
    await assert.rejects(store.create(job, deletingTheModel()), (error: Error) => {
      assert.ok(error instanceof ConflictError, String(error));
      assert.match(error.message, /Model 'doomed' was deleted while the job was being stored/);
      return true;
    });
    assert.deepEqual(await allJobRows(t), before);
  });

  it('checkpoints the write-ahead log in a thread of its own, not after each commit', async () => {
    assert.equal(t.app.get(SqliteCheckpointer).active, true);
    const [{ wal_autocheckpoint: pages }] = await t.dataSource.query('PRAGMA wal_autocheckpoint');
    assert.equal(pages, 0, 'the connection on the HTTP thread leaves checkpoints to the thread');
    // The database file only grows when a checkpoint copies pages into it from the log.
    const size = () => fs.statSync(t.config.database.sqlitePath).size;
    const before = size();
    const { job } = await submitJob(http, {
      model: 'mlp',
      instances: [{ inputs: { x: Array.from({ length: 200_000 }, () => [1, 2, 3, 4]) } }],
    });
    await waitFor(() => size() >= before + 3 * MiB, { what: 'the instance to reach the database file' });
    await waitForJob(http, job.id);
  });
});

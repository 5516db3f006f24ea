import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PredictionLogService } from '../../src/predictions/prediction-log.service';
import { createKey, CreatedKey } from '../support/audit-helpers';
import { mlpInstances } from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { matrix, predictReply } from '../support/prediction-cache-helpers';
import { authed, startTestApp, TestApp } from '../support/test-app';

/**
 * Predictions and jobs record the credential that made them (issue 9), and a predictor owns its
 * jobs: it sees, reads, cancels and deletes only those, another's answering 404.
 */

interface JobItem {
  id: string;
  model: string;
  actor: string | null;
  status: string;
}

interface Page<T> {
  items: T[];
  total: number;
  skip: number;
  limit: number;
}

for (const engine of testEngines()) {
  describe(`actors and job ownership on ${engine}`, () => {
    let t: TestApp;
    let alice: CreatedKey;
    let bob: CreatedKey;
    let viewer: CreatedKey;
    let maintainer: CreatedKey;
    const admin = () => authed(t);
    const as = (key: CreatedKey) => () => authed(t, key.key);
    const submit = async (key: CreatedKey | undefined, count = 2): Promise<JobItem> => {
      const http = key ? as(key) : admin;
      const res = await http()
        .post('/api/v1/jobs')
        .send({ model: 'mlp', instances: mlpInstances(count) });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body as JobItem;
    };
    const jobs = async (key: CreatedKey | undefined, query = ''): Promise<Page<JobItem>> => {
      const http = key ? as(key) : admin;
      return (await http().get(`/api/v1/jobs${query}`).expect(200)).body as Page<JobItem>;
    };

    before(async () => {
      t = await startTestApp(engine, { env: { PREDICTION_LOG_FLUSH_MS: '600000' } });
      await admin().post('/api/v1/models').send({ name: 'mlp' }).expect(201);
      await admin().post('/api/v1/models/mlp/versions').attach('file', mlpModel(), 'm.onnx').expect(201);
      alice = await createKey(t, { name: 'alice', role: 'predictor' });
      bob = await createKey(t, { name: 'bob', role: 'predictor' });
      viewer = await createKey(t, { name: 'viewer', role: 'viewer' });
      maintainer = await createKey(t, { name: 'maintainer', role: 'maintainer' });
    });
    after(async () => {
      await t?.close();
    });

    it('records the submitting credential as the actor of a job', async () => {
      const mine = await submit(alice);
      assert.equal(mine.actor, alice.actor);
      const read = (await as(alice)().get(`/api/v1/jobs/${mine.id}`).expect(200)).body as JobItem;
      assert.equal(read.actor, alice.actor);
      assert.equal((await submit(undefined)).actor, 'admin-key');
      assert.equal((await submit(maintainer)).actor, maintainer.actor);
    });

    it('shows a predictor only its own jobs, filtered in SQL with the right total and paging', async () => {
      for (let i = 0; i < 2; i++) await submit(alice);
      await submit(bob);
      const all = await jobs(undefined, '?limit=100');
      const alices = all.items.filter((j) => j.actor === alice.actor);
      assert.equal(alices.length, 3);

      const own = await jobs(alice, '?limit=100');
      assert.deepEqual(
        own.items.map((j) => j.id),
        alices.map((j) => j.id),
      );
      assert.equal(own.total, 3);
      const page = await jobs(alice, '?skip=2&limit=2');
      assert.deepEqual([page.items.map((j) => j.id), page.total], [[alices[2].id], 3]);
      const bobs = await jobs(bob, '?model=mlp');
      assert.deepEqual(
        bobs.items.map((j) => j.actor),
        [bob.actor],
      );
      for (const key of [viewer, maintainer]) {
        const seen = await jobs(key, '?limit=100');
        assert.equal(seen.total, all.total, `${key.actor} sees every job`);
      }
    });

    it("answers 404 to a predictor on another's job, on every job route", async () => {
      const alicesJob = await submit(alice);
      const b = as(bob);
      for (const res of [
        await b().get(`/api/v1/jobs/${alicesJob.id}`),
        await b().get(`/api/v1/jobs/${alicesJob.id}/results`),
        await b().post(`/api/v1/jobs/${alicesJob.id}/cancel`),
        await b().delete(`/api/v1/jobs/${alicesJob.id}`),
      ]) {
        assert.equal(res.status, 404, JSON.stringify(res.body));
        assert.equal(res.body.message, `Job ${alicesJob.id} does not exist`, 'the same answer as an unknown id');
      }
      const unknown = await b().get('/api/v1/jobs/00000000-0000-4000-8000-000000000000');
      assert.equal(unknown.status, 404);

      await as(alice)().get(`/api/v1/jobs/${alicesJob.id}`).expect(200);
      await as(alice)().get(`/api/v1/jobs/${alicesJob.id}/results`).expect(200);
      await as(viewer)().get(`/api/v1/jobs/${alicesJob.id}`).expect(200);
      await as(viewer)().get(`/api/v1/jobs/${alicesJob.id}/results`).expect(403);
      await as(maintainer)().get(`/api/v1/jobs/${alicesJob.id}/results`).expect(200);
      await as(alice)().delete(`/api/v1/jobs/${alicesJob.id}`).expect(204);
      await admin().get(`/api/v1/jobs/${alicesJob.id}`).expect(404);
    });

    it('records the credential of every prediction in the log, failed ones included', async () => {
      const x = matrix(1, 4, 2);
      assert.equal((await predictReply(as(alice), { model: 'mlp', inputs: { x } })).status, 200);
      assert.equal((await predictReply(as(maintainer), { model: 'mlp', inputs: { x: matrix(1, 4, 3) } })).status, 200);
      assert.equal((await predictReply(admin, { model: 'mlp', inputs: { x: matrix(1, 4, 4) } })).status, 200);
      assert.equal((await predictReply(as(bob), { model: 'missing', inputs: { x } })).status, 404);
      await t.app.get(PredictionLogService).flush();

      const log = (await admin().get('/api/v1/predictions?limit=100').expect(200)).body as Page<{
        actor: string | null;
        model: string | null;
        status: string;
      }>;
      const actors = (model: string) =>
        log.items
          .filter((row) => row.model === model)
          .map((row) => row.actor)
          .sort();
      assert.deepEqual(actors('mlp'), [alice.actor, maintainer.actor, 'admin-key'].sort());
      assert.deepEqual(actors('missing'), [bob.actor]);
    });
  });
}

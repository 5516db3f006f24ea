import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PredictionLogService } from '../../src/predictions/prediction-log.service';
import { auditPage, createKey, CreatedKey } from '../support/audit-helpers';
import { jobRows, mlpInstances } from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { expectPrediction, matrix, predictReply } from '../support/prediction-cache-helpers';
import { authed, listFiles, startTestApp, TestApp } from '../support/test-app';

/**
 * API keys scoped to model-name patterns (issue 9): 403 on every route naming another model,
 * whether or not it exists; lists filtered in SQL (totals and paging right); jobs and prediction
 * log rows of other models invisible.
 */

const SCOPE = ['iris', 'fraud-*'];

interface NamedPage {
  items: { name?: string; model?: string | null; id: string }[];
  total: number;
}

for (const engine of testEngines()) {
  describe(`key scopes on ${engine}`, () => {
    let t: TestApp;
    let predictor: CreatedKey;
    let maintainer: CreatedKey;
    let viewer: CreatedKey;
    let underscore: CreatedKey;
    const admin = () => authed(t);
    const as = (key: CreatedKey) => () => authed(t, key.key);
    const names = (page: NamedPage) => page.items.map((m) => m.name);
    const artifacts = () => listFiles(path.join(t.dataDir, 'artifacts')).filter((f) => !f.startsWith('.staging'));

    const expectForbidden = (res: { status: number; body: { error?: string; message?: string } }, model: string) => {
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.error, 'Forbidden');
      assert.match(res.body.message ?? '', new RegExp(`'${model}'`), 'the message names the model');
    };

    before(async () => {
      t = await startTestApp(engine, { env: { PREDICTION_LOG_FLUSH_MS: '600000' } });
      for (const name of ['iris', 'fraud-x', 'other']) {
        await admin().post('/api/v1/models').send({ name }).expect(201);
        await admin().post(`/api/v1/models/${name}/versions`).attach('file', mlpModel(), 'm.onnx').expect(201);
      }
      for (const name of ['fraud-y', 'a_b1', 'axb1', 'zeta']) {
        await admin().post('/api/v1/models').send({ name }).expect(201);
      }
      predictor = await createKey(t, { name: 'scoped-predictor', role: 'predictor', models: SCOPE });
      maintainer = await createKey(t, { name: 'scoped-maintainer', role: 'maintainer', models: SCOPE });
      viewer = await createKey(t, { name: 'scoped-viewer', role: 'viewer', models: SCOPE });
      underscore = await createKey(t, { name: 'underscore', role: 'viewer', models: ['a_b*'] });
    });
    after(async () => {
      await t?.close();
    });

    it('lists only the models a scoped key covers, with the total and paging of that list', async () => {
      const all = (await admin().get('/api/v1/models').expect(200)).body as NamedPage;
      assert.equal(all.total, 7);
      const scoped = (await as(predictor)().get('/api/v1/models').expect(200)).body as NamedPage;
      assert.deepEqual(names(scoped), ['fraud-x', 'fraud-y', 'iris']);
      assert.equal(scoped.total, 3);
      const page = (await as(viewer)().get('/api/v1/models?skip=1&limit=1').expect(200)).body as NamedPage;
      assert.deepEqual([names(page), page.total], [['fraud-y'], 3]);
      const searched = (await as(viewer)().get('/api/v1/models?q=fraud').expect(200)).body as NamedPage;
      assert.deepEqual([names(searched), searched.total], [['fraud-x', 'fraud-y'], 2]);
      const nothing = (await as(viewer)().get('/api/v1/models?q=other').expect(200)).body as NamedPage;
      assert.deepEqual([names(nothing), nothing.total], [[], 0]);
    });

    it('escapes LIKE wildcards: the pattern a_b* does not match axb1', async () => {
      const page = (await as(underscore)().get('/api/v1/models').expect(200)).body as NamedPage;
      assert.deepEqual([names(page), page.total], [['a_b1'], 1]);
      expectForbidden(await as(underscore)().get('/api/v1/models/axb1'), 'axb1');
      await as(underscore)().get('/api/v1/models/a_b1').expect(200);
    });

    it('answers 403 on read routes of other models, existing or not, and serves its own', async () => {
      for (const route of [
        '/api/v1/models/other',
        '/api/v1/models/ghost',
        '/api/v1/models/other/versions',
        '/api/v1/models/other/versions/1',
      ]) {
        const model = route.split('/')[4];
        expectForbidden(await as(predictor)().get(route), model);
        expectForbidden(await as(viewer)().get(route), model);
      }
      expectForbidden(await as(maintainer)().get('/api/v1/models/other/versions/1/file'), 'other');
      await as(predictor)().get('/api/v1/models/fraud-x').expect(200);
      await as(predictor)().get('/api/v1/models/fraud-x/versions/1').expect(200);
      await as(predictor)().get('/api/v1/models/fraud-ghost').expect(404);
      const file = await as(maintainer)().get('/api/v1/models/fraud-x/versions/1/file').buffer(true);
      assert.equal(file.status, 200);
      assert.deepEqual(Buffer.from(file.body as Buffer), mlpModel());
    });

    it('refuses a scoped maintainer every write on other models and records none', async () => {
      const before = (await auditPage(t, { limit: 1 })).total;
      const files = artifacts();
      const m = as(maintainer);
      expectForbidden(await m().post('/api/v1/models').send({ name: 'zz-new' }), 'zz-new');
      expectForbidden(await m().patch('/api/v1/models/other').send({ description: 'x' }), 'other');
      expectForbidden(await m().delete('/api/v1/models/other/cache'), 'other');
      expectForbidden(await m().delete('/api/v1/models/other/versions/1'), 'other');
      expectForbidden(
        await m()
          .post('/api/v1/models/other/versions')
          .attach('file', mlpModel({ seed: 4 }), 'm.onnx'),
        'other',
      );
      expectForbidden(await m().delete('/api/v1/models/other'), 'other');
      expectForbidden(await m().delete('/api/v1/models/ghost'), 'ghost');
      assert.equal((await auditPage(t, { limit: 1 })).total, before);
      assert.deepEqual(artifacts(), files, 'the refused upload stored nothing');
      await admin().get('/api/v1/models/other/versions/1').expect(200);

      await m().post('/api/v1/models').send({ name: 'fraud-new' }).expect(201);
      await m().patch('/api/v1/models/fraud-new').send({ description: 'mine' }).expect(200);
      await m().post('/api/v1/models/fraud-new/versions').attach('file', mlpModel(), 'm.onnx').expect(201);
      await m().delete('/api/v1/models/fraud-new').expect(204);
    });

    it('refuses predictions of other models before any lookup, the cache included', async () => {
      const p = as(predictor);
      const x = matrix(1, 4, 5);
      await expectPrediction(p, { model: 'fraud-x', inputs: { x } }, 'MISS');
      await expectPrediction(p, { model: 'iris', inputs: { x } }, 'MISS');
      const other = await predictReply(p, { model: 'other', inputs: { x } });
      expectForbidden({ status: other.status, body: other.body }, 'other');
      const ghost = await predictReply(p, { model: 'ghost', inputs: { x } });
      expectForbidden({ status: ghost.status, body: ghost.body }, 'ghost');
      const ghostVersion = await predictReply(p, { model: 'other', version: 99, inputs: { x } });
      assert.equal(ghostVersion.status, 403, 'no hint whether the version exists');

      // An answer another client cached is not served to a key outside the model's scope.
      const body = JSON.stringify({ model: 'other', inputs: { x: matrix(2, 4, 6) } });
      await expectPrediction(admin, body, 'MISS');
      await expectPrediction(admin, body, 'HIT');
      const cached = await predictReply(p, body);
      expectForbidden({ status: cached.status, body: cached.body }, 'other');
      assert.equal(cached.xCache, undefined);

      // A large body, parsed in an inference worker, is refused the same way.
      const large = JSON.stringify({ model: 'other', inputs: { x: matrix(1500, 4, 7) } });
      assert.ok(large.length > 16 * 1024);
      const refusedLarge = await predictReply(p, large);
      expectForbidden({ status: refusedLarge.status, body: refusedLarge.body }, 'other');
      const allowedLarge = await predictReply(p, large.replace('"other"', '"fraud-x"'));
      assert.equal(allowedLarge.status, 200);
    });

    it('refuses jobs on other models before anything is stored, and hides other models’ jobs', async () => {
      const p = as(predictor);
      const rows = await jobRows(t.dataSource);
      const instances = mlpInstances(3);
      expectForbidden(await p().post('/api/v1/jobs').send({ model: 'other', instances }), 'other');
      expectForbidden(await p().post('/api/v1/jobs').send({ model: 'ghost', instances }), 'ghost');
      const ndjson = instances.map((i) => JSON.stringify(i)).join('\n') + '\n';
      expectForbidden(
        await p().post('/api/v1/jobs?model=other').set('Content-Type', 'application/x-ndjson').send(ndjson),
        'other',
      );
      assert.deepEqual(await jobRows(t.dataSource), rows, 'nothing stored');

      const own = (await p().post('/api/v1/jobs').send({ model: 'fraud-x', instances }).expect(202)).body as {
        id: string;
      };
      const foreign = (await admin().post('/api/v1/jobs').send({ model: 'other', instances }).expect(202)).body as {
        id: string;
      };
      const scopedAdminJob = (await admin().post('/api/v1/jobs').send({ model: 'iris', instances }).expect(202))
        .body as { id: string };

      const seen = (await as(viewer)().get('/api/v1/jobs').expect(200)).body as NamedPage;
      assert.deepEqual(seen.items.map((j) => j.id).sort(), [own.id, scopedAdminJob.id].sort());
      assert.equal(seen.total, 2);
      const otherOnly = (await as(viewer)().get('/api/v1/jobs?model=other').expect(200)).body as NamedPage;
      assert.deepEqual([otherOnly.items.length, otherOnly.total], [0, 0]);
      const everything = (await admin().get('/api/v1/jobs').expect(200)).body as NamedPage;
      assert.equal(everything.total, 3);

      await as(viewer)().get(`/api/v1/jobs/${foreign.id}`).expect(404);
      await as(viewer)().get(`/api/v1/jobs/${scopedAdminJob.id}`).expect(200);
      const m = as(maintainer);
      await m().get(`/api/v1/jobs/${foreign.id}/results`).expect(404);
      await m().post(`/api/v1/jobs/${foreign.id}/cancel`).expect(404);
      await m().delete(`/api/v1/jobs/${foreign.id}`).expect(404);
      await admin().get(`/api/v1/jobs/${foreign.id}`).expect(200);
    });

    it('shows a scoped maintainer only the prediction log rows of its models', async () => {
      await expectPrediction(admin, { model: 'other', inputs: { x: matrix(1, 4, 8) } }, 'MISS');
      await expectPrediction(admin, { model: 'iris', inputs: { x: matrix(1, 4, 8) } }, 'MISS');
      await t.app.get(PredictionLogService).flush();
      const all = (await admin().get('/api/v1/predictions?limit=100').expect(200)).body as NamedPage;
      const inScope = all.items.filter((row) => row.model === 'iris' || row.model?.startsWith('fraud-'));
      const foreign = all.items.find((row) => row.model === 'other');
      assert.ok(foreign && inScope.length > 0 && inScope.length < all.items.length);

      const scoped = (await as(maintainer)().get('/api/v1/predictions?limit=100').expect(200)).body as NamedPage;
      assert.equal(scoped.total, inScope.length);
      assert.deepEqual(
        scoped.items.map((row) => row.id),
        inScope.map((row) => row.id),
      );
      const paged = (await as(maintainer)().get('/api/v1/predictions?skip=1&limit=1').expect(200)).body as NamedPage;
      assert.deepEqual([paged.items[0]?.id, paged.total], [inScope[1]?.id, inScope.length]);
      const onlyOther = (await as(maintainer)().get('/api/v1/predictions?model=other').expect(200)).body as NamedPage;
      assert.equal(onlyOther.total, 0);
      await as(maintainer)().get(`/api/v1/predictions/${foreign.id}`).expect(404);
      await as(maintainer)().get(`/api/v1/predictions/${inScope[0].id}`).expect(200);
    });
  });
}

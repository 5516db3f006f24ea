import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auditPage, AuditItem, createKey, CreatedKey, failAtCommit, refuseAuditEvents } from '../support/audit-helpers';
import { mlpModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { expectPrediction, matrix } from '../support/prediction-cache-helpers';
import { anonymous, authed, listFiles, startTestApp, TestApp } from '../support/test-app';

/**
 * The audit trail of registry writes (issue 9): one event per write with actor, action, target,
 * time, request id and safe details, in the write's own transaction; GET /api/v1/audit for admins.
 */

const AUDIT_FIELDS = ['action', 'actor', 'actorName', 'at', 'details', 'id', 'requestId', 'target'];

for (const engine of testEngines()) {
  describe(`audit trail on ${engine}`, () => {
    let t: TestApp;
    let maintainer: CreatedKey;
    let predictor: CreatedKey;
    let viewer: CreatedKey;
    const admin = () => authed(t);
    const asMaintainer = () => authed(t, maintainer.key);
    const artifacts = () => listFiles(path.join(t.dataDir, 'artifacts')).filter((f) => !f.startsWith('.staging'));

    before(async () => {
      t = await startTestApp(engine);
      maintainer = await createKey(t, { name: 'deployer', role: 'maintainer' });
      predictor = await createKey(t, { name: 'scorer', role: 'predictor' });
      viewer = await createKey(t, { name: 'watcher', role: 'viewer' });
    });
    after(async () => {
      await t?.close();
    });

    it('records every registry write with actor, action, target, request id and safe details', async () => {
      const created = await asMaintainer()
        .post('/api/v1/models')
        .set('X-Request-Id', 'audit-create-1')
        .send({ name: 'audited', tags: ['tabular'] })
        .expect(201);
      assert.equal(created.headers['x-request-id'], 'audit-create-1');
      await asMaintainer()
        .patch('/api/v1/models/audited')
        .set('X-Request-Id', 'audit-update-1')
        .send({ description: 'Internal notes 7f3a', cache: { enabled: true, ttlSeconds: 600 }, logPayloads: true })
        .expect(200);
      const bytes = mlpModel();
      const v1 = await asMaintainer()
        .post('/api/v1/models/audited/versions')
        .set('X-Request-Id', 'audit-upload-1')
        .attach('file', bytes, 'model.onnx')
        .expect(201);
      const second = mlpModel({ seed: 2 });
      await asMaintainer()
        .post('/api/v1/models/audited/versions')
        .set('X-Request-Id', 'audit-upload-2')
        .attach('file', second, 'model.onnx')
        .expect(201);
      await asMaintainer().delete('/api/v1/models/audited/cache').set('X-Request-Id', 'audit-flush-1').expect(204);
      await asMaintainer()
        .delete('/api/v1/models/audited/versions/2')
        .set('X-Request-Id', 'audit-version-delete-1')
        .expect(204);
      await asMaintainer().delete('/api/v1/models/audited').set('X-Request-Id', 'audit-delete-1').expect(204);

      const modelEvents = (await auditPage(t, { target: 'model:audited' })).items;
      const versionEvents = [
        ...(await auditPage(t, { target: 'version:audited/1' })).items,
        ...(await auditPage(t, { target: 'version:audited/2' })).items,
      ];
      const events = [...modelEvents, ...versionEvents];
      assert.deepEqual(events.map((e) => e.action).sort(), [
        'model.cache.clear',
        'model.create',
        'model.delete',
        'model.update',
        'version.create',
        'version.create',
        'version.delete',
      ]);
      for (const event of events) {
        assert.deepEqual(Object.keys(event).sort(), AUDIT_FIELDS);
        assert.equal(event.actor, maintainer.actor);
        assert.equal(event.actorName, 'deployer');
        assert.ok(Math.abs(Date.parse(event.at) - Date.now()) < 60_000, event.at);
      }
      const byRequest = (id: string): AuditItem => {
        const found = events.find((e) => e.requestId === id);
        assert.ok(found, `an event of request ${id}`);
        return found;
      };
      assert.deepEqual(byRequest('audit-create-1'), {
        ...byRequest('audit-create-1'),
        action: 'model.create',
        target: 'model:audited',
        details: { tags: ['tabular'], logPayloads: false },
      });
      assert.deepEqual(byRequest('audit-update-1').details, {
        fields: ['description', 'cache', 'logPayloads'],
        cache: { enabled: true, ttlSeconds: 600 },
        logPayloads: true,
      });
      const upload = byRequest('audit-upload-1');
      assert.equal(upload.action, 'version.create');
      assert.equal(upload.target, 'version:audited/1');
      assert.deepEqual(upload.details, {
        sha256: createHash('sha256').update(bytes).digest('hex'),
        sizeBytes: bytes.length,
      });
      assert.equal(upload.details?.sha256, v1.body.sha256);
      assert.equal(byRequest('audit-flush-1').action, 'model.cache.clear');
      assert.equal(byRequest('audit-flush-1').details, null);
      assert.deepEqual(byRequest('audit-version-delete-1'), {
        ...byRequest('audit-version-delete-1'),
        action: 'version.delete',
        target: 'version:audited/2',
        details: { sha256: createHash('sha256').update(second).digest('hex') },
      });
      assert.deepEqual(byRequest('audit-delete-1').details, { versions: [1] });
      assert.ok(!JSON.stringify(events).includes('7f3a'), 'a description is named, never copied');
    });

    it('records nothing for a refused write', async () => {
      await asMaintainer().post('/api/v1/models').send({ name: 'refusals' }).expect(201);
      const before = (await auditPage(t, { limit: 1 })).total;

      await asMaintainer().post('/api/v1/models').send({ name: 'refusals' }).expect(409);
      const notOnnx = await asMaintainer()
        .post('/api/v1/models/refusals/versions')
        .attach('file', Buffer.from('this is not an onnx model'), 'model.onnx');
      assert.equal(notOnnx.status, 422, JSON.stringify(notOnnx.body));
      await asMaintainer().patch('/api/v1/models/refusals').send({ logPayloads: 'yes' }).expect(400);
      await asMaintainer().delete('/api/v1/models/missing').expect(404);
      await asMaintainer().delete('/api/v1/models/refusals/versions/1').expect(404);
      await asMaintainer().delete('/api/v1/models/missing/cache').expect(404);
      await authed(t, predictor.key).delete('/api/v1/models/refusals').expect(403);

      assert.equal((await auditPage(t, { limit: 1 })).total, before, 'no event for any refused write');
      assert.equal((await auditPage(t, { target: 'model:refusals' })).total, 1, 'only its creation');
    });

    it('rolls the write back when its audit event cannot be recorded (same transaction)', async () => {
      const refused = async (action: string, write: () => Promise<{ status: number }>) => {
        const undo = await refuseAuditEvents(t, action);
        try {
          const res = await write();
          assert.equal(res.status, 500, `${action}: the write fails with its audit event`);
        } finally {
          await undo();
        }
      };
      const model = async (name: string) =>
        (await admin().get(`/api/v1/models/${name}`)).body as Record<string, unknown>;

      await refused('model.create', () => asMaintainer().post('/api/v1/models').send({ name: 'atomic' }));
      await admin().get('/api/v1/models/atomic').expect(404);

      await asMaintainer()
        .post('/api/v1/models')
        .send({ name: 'atomic', description: 'before', cache: { enabled: true, ttlSeconds: 3600 } })
        .expect(201);
      await asMaintainer().post('/api/v1/models/atomic/versions').attach('file', mlpModel(), 'm.onnx').expect(201);

      await refused('model.update', () => asMaintainer().patch('/api/v1/models/atomic').send({ description: 'after' }));
      assert.equal((await model('atomic')).description, 'before');

      const files = artifacts();
      await refused('version.create', () =>
        asMaintainer()
          .post('/api/v1/models/atomic/versions')
          .attach('file', mlpModel({ seed: 9 }), 'm.onnx'),
      );
      assert.equal((await model('atomic')).latestVersion, 1);
      await admin().get('/api/v1/models/atomic/versions/2').expect(404);
      assert.deepEqual(artifacts(), files, 'the refused version left no file');

      const body = { model: 'atomic', inputs: { x: matrix(1, 4, 3) } };
      await expectPrediction(admin, body, 'MISS');
      await expectPrediction(admin, body, 'HIT');
      await refused('model.cache.clear', () => asMaintainer().delete('/api/v1/models/atomic/cache'));
      await expectPrediction(admin, body, 'HIT', {}, 'a cache clear that could not be recorded did not happen');
      await asMaintainer().delete('/api/v1/models/atomic/cache').expect(204);
      await expectPrediction(admin, body, 'MISS', {}, 'a recorded cache clear happened');

      await refused('version.delete', () => asMaintainer().delete('/api/v1/models/atomic/versions/1'));
      await admin().get('/api/v1/models/atomic/versions/1').expect(200);

      await refused('model.delete', () => asMaintainer().delete('/api/v1/models/atomic'));
      assert.equal((await model('atomic')).latestVersion, 1);

      const events = (await auditPage(t, { target: 'model:atomic' })).items.map((e) => e.action).sort();
      assert.deepEqual(events, ['model.cache.clear', 'model.create']);
      assert.equal((await auditPage(t, { target: 'version:atomic/1' })).total, 1);
      assert.equal((await auditPage(t, { target: 'version:atomic/2' })).total, 0);
    });

    it('leaves no audit event behind when the write fails at commit, after its audit insert', async () => {
      const failing = async (
        table: 'models' | 'model_versions',
        event: 'INSERT' | 'UPDATE' | 'DELETE',
        requestId: string,
        write: () => Promise<{ status: number }>,
      ) => {
        const undo = await failAtCommit(t, table, event);
        try {
          const res = await write();
          assert.equal(res.status, 500, `${requestId}: the transaction fails at commit`);
        } finally {
          await undo();
        }
        const left = (await auditPage(t, { limit: 100 })).items.filter((e) => e.requestId === requestId);
        assert.deepEqual(left, [], `${requestId}: its audit event was rolled back with the write`);
      };
      const m = () => asMaintainer();

      await failing('models', 'INSERT', 'commit-create', () =>
        m().post('/api/v1/models').set('X-Request-Id', 'commit-create').send({ name: 'committed' }),
      );
      await admin().get('/api/v1/models/committed').expect(404);
      await m().post('/api/v1/models').send({ name: 'committed', description: 'kept' }).expect(201);

      await failing('models', 'UPDATE', 'commit-update', () =>
        m().patch('/api/v1/models/committed').set('X-Request-Id', 'commit-update').send({ description: 'lost' }),
      );
      assert.equal((await admin().get('/api/v1/models/committed').expect(200)).body.description, 'kept');

      await failing('model_versions', 'INSERT', 'commit-upload', () =>
        m()
          .post('/api/v1/models/committed/versions')
          .set('X-Request-Id', 'commit-upload')
          .attach('file', mlpModel({ seed: 5 }), 'm.onnx'),
      );
      await admin().get('/api/v1/models/committed/versions/1').expect(404);
      await m()
        .post('/api/v1/models/committed/versions')
        .attach('file', mlpModel({ seed: 5 }), 'm.onnx')
        .expect(201);

      await failing('model_versions', 'DELETE', 'commit-version-delete', () =>
        m().delete('/api/v1/models/committed/versions/1').set('X-Request-Id', 'commit-version-delete'),
      );
      await admin().get('/api/v1/models/committed/versions/1').expect(200);

      await failing('models', 'DELETE', 'commit-delete', () =>
        m().delete('/api/v1/models/committed').set('X-Request-Id', 'commit-delete'),
      );
      await admin().get('/api/v1/models/committed/versions/1').expect(200);
    });

    it('serves GET /api/v1/audit to admins only', async () => {
      await anonymous(t).get('/api/v1/audit').expect(401);
      for (const key of [maintainer, predictor, viewer]) {
        const res = await authed(t, key.key).get('/api/v1/audit');
        assert.equal(res.status, 403, JSON.stringify(res.body));
      }
      const page = await auditPage(t);
      assert.ok(page.total > 0);
      const keyEvents = await auditPage(t, { action: 'key.create', actor: 'admin-key' });
      assert.ok(keyEvents.total >= 3, 'the keys of this suite were audited too');
    });

    it('filters by exact actor, action and target, pages newest first, and validates the filters', async () => {
      for (const name of ['paged-a', 'paged-b', 'paged-c', 'paged-d', 'paged-e']) {
        await asMaintainer().post('/api/v1/models').send({ name }).expect(201);
      }
      const creates = await auditPage(t, { action: 'model.create', actor: maintainer.actor, limit: 100 });
      assert.ok(creates.items.every((e) => e.action === 'model.create' && e.actor === maintainer.actor));
      assert.equal(creates.total, creates.items.length);
      for (const name of ['paged-a', 'paged-b', 'paged-c', 'paged-d', 'paged-e']) {
        assert.ok(
          creates.items.some((e) => e.target === `model:${name}`),
          name,
        );
      }
      const times = creates.items.map((e) => Date.parse(e.at));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first',
      );

      assert.equal((await auditPage(t, { target: 'model:paged' })).total, 0, 'target matches exactly, not by prefix');
      assert.equal((await auditPage(t, { target: 'model:paged-c' })).total, 1);
      assert.equal((await auditPage(t, { actor: predictor.actor })).total, 0);

      const all = await auditPage(t, { action: 'model.create', limit: 100 });
      const first = await auditPage(t, { action: 'model.create', skip: 0, limit: 2 });
      const next = await auditPage(t, { action: 'model.create', skip: 2, limit: 2 });
      assert.deepEqual([first.total, first.skip, first.limit], [all.total, 0, 2]);
      assert.deepEqual([next.total, next.skip, next.limit], [all.total, 2, 2]);
      assert.deepEqual(
        [...first.items, ...next.items].map((e) => e.id),
        all.items.slice(0, 4).map((e) => e.id),
      );

      for (const query of [
        { actor: 'x'.repeat(65) },
        { action: 'a'.repeat(65) },
        { target: 't'.repeat(257) },
        { action: '' },
        { limit: 101 },
        { skip: -1 },
      ]) {
        const res = await admin().get('/api/v1/audit').query(query);
        assert.equal(res.status, 400, `${JSON.stringify(query)}: ${JSON.stringify(res.body)}`);
      }
      const repeated = await admin().get('/api/v1/audit?action=model.create&action=model.delete');
      assert.equal(repeated.status, 400);
      await admin()
        .get('/api/v1/audit')
        .query({ target: 't'.repeat(256) })
        .expect(200);
    });
  });
}

import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../support/postgres';
import { seedVersion } from '../support/seed';
import { authed, listFiles, startTestApp, TestApp } from '../support/test-app';

for (const engine of testEngines()) {
  describe(`registry over HTTP on ${engine}`, () => {
    let t: TestApp;
    const http = () => authed(t);
    const artifacts = () => listFiles(path.join(t.dataDir, 'artifacts')).filter((f) => !f.startsWith('.staging'));

    before(async () => {
      t = await startTestApp(engine);
    });
    after(async () => {
      await t?.close();
    });

    describe('POST /api/v1/models', () => {
      it('creates a model and answers 201 with the Model body only', async () => {
        const res = await http()
          .post('/api/v1/models')
          .send({ name: 'iris', description: 'Iris classifier', tags: ['tabular', 'demo'] })
          .expect(201);
        assert.deepEqual(Object.keys(res.body).sort(), [
          'aliases',
          'batching',
          'cache',
          'createdAt',
          'description',
          'id',
          'latestVersion',
          'logPayloads',
          'name',
          'tags',
          'updatedAt',
        ]);
        assert.equal(res.body.name, 'iris');
        assert.deepEqual(res.body.tags, ['tabular', 'demo']);
        assert.equal(res.body.latestVersion, null);
        assert.deepEqual(res.body.aliases, {});
        assert.match(res.body.id, /^[0-9a-f-]{36}$/);
        assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)));
        assert.ok(res.headers['x-request-id']);
      });

      it('answers 409 for a duplicate name and creates nothing', async () => {
        const res = await http().post('/api/v1/models').send({ name: 'iris' }).expect(409);
        assert.equal(res.body.statusCode, 409);
        assert.equal(res.body.error, 'Conflict');
        assert.match(res.body.message, /iris.*already exists/);
        const list = await http().get('/api/v1/models').query({ q: 'iris' }).expect(200);
        assert.equal(list.body.total, 1);
      });

      for (const name of ['Iris', '-iris', 'a'.repeat(65), 'ir is', 'iris/../x', '']) {
        it(`answers 400 naming the rule for the invalid name ${JSON.stringify(name.slice(0, 12))}`, async () => {
          const res = await http().post('/api/v1/models').send({ name }).expect(400);
          assert.match(res.body.message, /name must match \^\[a-z0-9\]/);
          assert.deepEqual(
            res.body.details.map((d: { field: string }) => d.field),
            ['name'],
          );
        });
      }

      it('rejects unknown body fields (mass assignment) with 400', async () => {
        const res = await http()
          .post('/api/v1/models')
          .send({ name: 'sneaky', latestVersion: 7, id: '00000000-0000-0000-0000-000000000000' })
          .expect(400);
        assert.match(res.body.message, /property latestVersion should not exist/);
        assert.match(res.body.message, /property id should not exist/);
        await http().get('/api/v1/models/sneaky').expect(404);
      });

      it('rejects bad tags with 400', async () => {
        await http()
          .post('/api/v1/models')
          .send({ name: 'tagged', tags: ['ok', 'not ok'] })
          .expect(400);
        await http()
          .post('/api/v1/models')
          .send({ name: 'tagged', tags: ['a', 'a'] })
          .expect(400);
        await http().post('/api/v1/models').send({ name: 'tagged', tags: 'a' }).expect(400);
        await http()
          .post('/api/v1/models')
          .send({ name: 'tagged', tags: Array.from({ length: 33 }, (_, i) => `t${i}`) })
          .expect(400);
        await http().get('/api/v1/models/tagged').expect(404);
      });

      it('answers 400 for a missing body', async () => {
        const res = await http().post('/api/v1/models').expect(400);
        assert.match(res.body.message, /name/);
      });
    });

    describe('GET /api/v1/models', () => {
      before(async () => {
        for (const [name, description, tags] of [
          ['resnet-50', 'Image classifier', ['vision']],
          ['bert.base', 'Text encoder for search', ['nlp', 'embedding']],
          ['yolo_v8', 'Object detector, IMAGE input', ['vision', 'detection']],
          ['percent', 'has 100% coverage', []],
        ] as const) {
          await http().post('/api/v1/models').send({ name, description, tags }).expect(201);
        }
      });

      it('pages with skip and limit, ordered by name', async () => {
        const first = await http().get('/api/v1/models').query({ limit: 2 }).expect(200);
        assert.equal(first.body.total, 5);
        assert.equal(first.body.skip, 0);
        assert.equal(first.body.limit, 2);
        assert.deepEqual(
          first.body.items.map((m: { name: string }) => m.name),
          ['bert.base', 'iris'],
        );
        const rest = await http().get('/api/v1/models').query({ skip: 2, limit: 10 }).expect(200);
        assert.deepEqual(
          rest.body.items.map((m: { name: string }) => m.name),
          ['percent', 'resnet-50', 'yolo_v8'],
        );
      });

      it('defaults to skip 0 and limit 20', async () => {
        const res = await http().get('/api/v1/models').expect(200);
        assert.equal(res.body.skip, 0);
        assert.equal(res.body.limit, 20);
      });

      it('searches name and description case-insensitively with q', async () => {
        const res = await http().get('/api/v1/models').query({ q: 'image' }).expect(200);
        assert.deepEqual(res.body.items.map((m: { name: string }) => m.name).sort(), ['resnet-50', 'yolo_v8']);
        const byName = await http().get('/api/v1/models').query({ q: 'BERT' }).expect(200);
        assert.deepEqual(
          byName.body.items.map((m: { name: string }) => m.name),
          ['bert.base'],
        );
      });

      it('treats LIKE wildcards in q literally', async () => {
        const res = await http().get('/api/v1/models').query({ q: '%' }).expect(200);
        assert.deepEqual(
          res.body.items.map((m: { name: string }) => m.name),
          ['percent'],
        );
        const underscore = await http().get('/api/v1/models').query({ q: '_' }).expect(200);
        assert.deepEqual(
          underscore.body.items.map((m: { name: string }) => m.name),
          ['yolo_v8'],
        );
      });

      it('filters by exact tag', async () => {
        const res = await http().get('/api/v1/models').query({ tag: 'vision' }).expect(200);
        assert.deepEqual(res.body.items.map((m: { name: string }) => m.name).sort(), ['resnet-50', 'yolo_v8']);
        const none = await http().get('/api/v1/models').query({ tag: 'visio' }).expect(200);
        assert.equal(none.body.total, 0);
        const both = await http().get('/api/v1/models').query({ tag: 'vision', q: 'detector' }).expect(200);
        assert.deepEqual(
          both.body.items.map((m: { name: string }) => m.name),
          ['yolo_v8'],
        );
      });

      for (const [query, problem] of [
        [{ limit: 101 }, /limit must be a decimal integer from 1 to 100/],
        [{ limit: 0 }, /limit must be a decimal integer from 1 to 100/],
        [{ skip: -1 }, /skip must be a decimal integer from 0 to 2147483647/],
        [{ limit: 'ten' }, /limit must be a decimal integer from 1 to 100/],
        [{ tag: 'bad tag' }, /tag/],
        [{ unknown: 1 }, /property unknown should not exist/],
      ] as const) {
        it(`answers 400 for ${JSON.stringify(query)}`, async () => {
          const res = await http().get('/api/v1/models').query(query).expect(400);
          assert.match(res.body.message, problem);
        });
      }
    });

    describe('GET, PATCH and DELETE /api/v1/models/{name}', () => {
      it('reads a model by name', async () => {
        const res = await http().get('/api/v1/models/iris').expect(200);
        assert.equal(res.body.name, 'iris');
        assert.equal(res.body.description, 'Iris classifier');
      });

      it('answers 404 for an unknown model and 400 for an invalid name', async () => {
        const missing = await http().get('/api/v1/models/nope').expect(404);
        assert.match(missing.body.message, /Model 'nope' does not exist/);
        const invalid = await http().get('/api/v1/models/NOPE').expect(400);
        assert.match(invalid.body.message, /must match/);
      });

      it('patches description and tags, leaving the rest alone', async () => {
        const before = await http().get('/api/v1/models/iris').expect(200);
        const res = await http()
          .patch('/api/v1/models/iris')
          .send({ description: 'Updated', tags: ['v2'] })
          .expect(200);
        assert.equal(res.body.description, 'Updated');
        assert.deepEqual(res.body.tags, ['v2']);
        assert.equal(res.body.id, before.body.id);
        const onlyTags = await http().patch('/api/v1/models/iris').send({ tags: [] }).expect(200);
        assert.equal(onlyTags.body.description, 'Updated');
        assert.deepEqual(onlyTags.body.tags, []);
      });

      it('refuses to patch the name or unknown fields', async () => {
        const res = await http().patch('/api/v1/models/iris').send({ name: 'other' }).expect(400);
        assert.match(res.body.message, /property name should not exist/);
        await http().get('/api/v1/models/other').expect(404);
      });

      it('answers 404 when patching or deleting an unknown model', async () => {
        await http().patch('/api/v1/models/ghost').send({ description: 'x' }).expect(404);
        await http().delete('/api/v1/models/ghost').expect(404);
      });
    });

    describe('versions', () => {
      const bytesA = Buffer.from('model bytes A');
      const bytesB = Buffer.from('model bytes B');

      before(async () => {
        await http().post('/api/v1/models').send({ name: 'versioned' }).expect(201);
        await http().post('/api/v1/models').send({ name: 'sharing' }).expect(201);
        await seedVersion(t, 'versioned', bytesA);
        await seedVersion(t, 'versioned', bytesB);
        await seedVersion(t, 'versioned', bytesB);
        await seedVersion(t, 'sharing', bytesA);
      });

      it('lists versions newest first with paging', async () => {
        const res = await http().get('/api/v1/models/versioned/versions').expect(200);
        assert.equal(res.body.total, 3);
        assert.deepEqual(
          res.body.items.map((v: { version: number }) => v.version),
          [3, 2, 1],
        );
        const page = await http().get('/api/v1/models/versioned/versions').query({ skip: 1, limit: 1 }).expect(200);
        assert.deepEqual(
          page.body.items.map((v: { version: number }) => v.version),
          [2],
        );
      });

      it('reads a version with every ModelVersion field and no internal one', async () => {
        const res = await http().get('/api/v1/models/versioned/versions/1').expect(200);
        assert.deepEqual(Object.keys(res.body).sort(), [
          'createdAt',
          'description',
          'failureReason',
          'inputs',
          'irVersion',
          'metadata',
          'model',
          'opsetVersion',
          'outputs',
          'producerName',
          'producerVersion',
          'sha256',
          'sizeBytes',
          'status',
          'version',
        ]);
        assert.equal(res.body.model, 'versioned');
        assert.deepEqual(res.body.metadata, {});
        assert.equal(res.body.sizeBytes, bytesA.length);
        assert.equal(typeof res.body.sizeBytes, 'number');
        assert.deepEqual(res.body.inputs, [{ name: 'x', dtype: 'float32', shape: [-1, 4], dimNames: ['batch', null] }]);
        assert.deepEqual(res.body.outputs, [{ name: 'y', dtype: 'float32', shape: [-1, 3] }]);
        assert.ok(!JSON.stringify(res.body).includes('sha256/'), 'storage key leaked');
      });

      it('answers 404 for an unknown version or model and 400 for a malformed version', async () => {
        const missing = await http().get('/api/v1/models/versioned/versions/99').expect(404);
        assert.match(missing.body.message, /no version 99/);
        await http().get('/api/v1/models/ghost/versions').expect(404);
        await http().get('/api/v1/models/ghost/versions/1').expect(404);
        for (const bad of ['0', 'abc', '1.5', '-1', '99999999999']) {
          const res = await http().get(`/api/v1/models/versioned/versions/${bad}`).expect(400);
          assert.match(res.body.message, /positive integer/);
        }
      });

      it('shows the latest version on the model', async () => {
        const res = await http().get('/api/v1/models/versioned').expect(200);
        assert.equal(res.body.latestVersion, 3);
      });

      it('deletes a version, keeps shared bytes, and recomputes latestVersion', async () => {
        assert.equal(artifacts().length, 2);
        await http().delete('/api/v1/models/versioned/versions/3').expect(204);
        await http().get('/api/v1/models/versioned/versions/3').expect(404);
        assert.equal((await http().get('/api/v1/models/versioned').expect(200)).body.latestVersion, 2);
        assert.equal(artifacts().length, 2, 'bytes B are still used by version 2');
        await http().delete('/api/v1/models/versioned/versions/2').expect(204);
        assert.equal(artifacts().length, 1, 'bytes B had no user left');
        await http().delete('/api/v1/models/versioned/versions/2').expect(404);
      });

      it('never reuses a version number after a delete', async () => {
        const next = await seedVersion(t, 'versioned', bytesB);
        assert.equal(next.version, 4);
      });

      it('deletes a model with its versions, keeping bytes another model shares', async () => {
        await http().delete('/api/v1/models/versioned').expect(204);
        await http().get('/api/v1/models/versioned').expect(404);
        await http().get('/api/v1/models/versioned/versions').expect(404);
        assert.equal(artifacts().length, 1, 'bytes A are still used by the sharing model');
        const rows = await t.dataSource.query('SELECT COUNT(*) AS n FROM model_versions');
        assert.equal(Number(rows[0].n), 1);
        await http().delete('/api/v1/models/sharing').expect(204);
        assert.deepEqual(artifacts(), []);
      });
    });
  });
}

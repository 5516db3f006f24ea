import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auditPage } from '../support/audit-helpers';
import { mlpModel, scalarModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { createModel, Http, httpOf, matrix, uploadVersion } from '../support/prediction-cache-helpers';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * Per-model dynamic batching settings in the registry (issue 10): PATCH /api/v1/models/{name}
 * with `batching`, its bounds, the defaults, and the refusal for a model with a version whose
 * signature cannot be stacked along dimension 0.
 */

const DEFAULTS = { enabled: false, maxBatchSize: 8, maxQueueDelayMs: 0, preferredBatchSizes: [] };

/** Bodies that must be refused, with what the message must say. */
const INVALID: { batching: unknown; message: RegExp }[] = [
  { batching: { enabled: 'yes' }, message: /batching\.enabled must be a boolean/ },
  { batching: { maxBatchSize: 1 }, message: /batching\.maxBatchSize must be an integer from 2 to 1024/ },
  { batching: { maxBatchSize: 1025 }, message: /batching\.maxBatchSize must be an integer from 2 to 1024/ },
  { batching: { maxBatchSize: 4.5 }, message: /batching\.maxBatchSize must be an integer/ },
  { batching: { maxBatchSize: '16' }, message: /batching\.maxBatchSize must be an integer/ },
  { batching: { maxQueueDelayMs: -1 }, message: /batching\.maxQueueDelayMs must be an integer from 0 to 1000/ },
  { batching: { maxQueueDelayMs: 1001 }, message: /batching\.maxQueueDelayMs must be an integer from 0 to 1000/ },
  { batching: { preferredBatchSizes: 4 }, message: /batching\.preferredBatchSizes must be an array/ },
  { batching: { preferredBatchSizes: [1, 4] }, message: /batching\.preferredBatchSizes must hold integers from 2/ },
  { batching: { preferredBatchSizes: [4, 2.5] }, message: /batching\.preferredBatchSizes must hold integers/ },
  { batching: { preferredBatchSizes: [4, 4] }, message: /batching\.preferredBatchSizes must not repeat/ },
  {
    batching: { maxBatchSize: 64, preferredBatchSizes: Array.from({ length: 17 }, (_, i) => i + 2) },
    message: /batching\.preferredBatchSizes must have at most 16 sizes/,
  },
  { batching: { preferredBatchSizes: [4, 16] }, message: /preferredBatchSizes 16 exceeds maxBatchSize 8/ },
  { batching: { maxBatchSize: 4, preferredBatchSizes: [2, 6, 8] }, message: /6, 8 exceed maxBatchSize 4/ },
  { batching: { maxWaitMs: 5 }, message: /property maxWaitMs should not exist/ },
  { batching: null, message: /batching must be an object/ },
  { batching: [{ enabled: true }], message: /batching must be an object/ },
  { batching: 'on', message: /batching must be an object/ },
];

for (const engine of testEngines()) {
  describe(`model batching settings on ${engine}`, () => {
    let t: TestApp;
    const http: Http = httpOf(() => t);
    const model = async (name: string) => (await http().get(`/api/v1/models/${name}`).expect(200)).body;

    before(async () => {
      t = await startTestApp(engine);
    });
    after(async () => {
      await t?.close();
    });

    it('shows the defaults on a model that never set batching, in every model response', async () => {
      await createModel(http, 'plain');
      assert.deepEqual((await model('plain')).batching, DEFAULTS);
      const listed = await http().get('/api/v1/models').query({ q: 'plain' }).expect(200);
      assert.deepEqual(listed.body.items[0].batching, DEFAULTS);
      const patched = await http().patch('/api/v1/models/plain').send({ description: 'only this' }).expect(200);
      assert.deepEqual(patched.body.batching, DEFAULTS);
    });

    it('PATCH turns batching on; GET shows it; fields left out keep their values', async () => {
      await createModel(http, 'batched');
      await uploadVersion(http, 'batched', mlpModel(), 1);
      const on = await http()
        .patch('/api/v1/models/batched')
        .send({ batching: { enabled: true, maxBatchSize: 32, maxQueueDelayMs: 5, preferredBatchSizes: [16, 4, 8] } })
        .expect(200);
      const expected = { enabled: true, maxBatchSize: 32, maxQueueDelayMs: 5, preferredBatchSizes: [4, 8, 16] };
      assert.deepEqual(on.body.batching, expected, 'preferred sizes are stored ascending');
      assert.deepEqual((await model('batched')).batching, expected);

      const delay = await http()
        .patch('/api/v1/models/batched')
        .send({ batching: { maxQueueDelayMs: 0 } })
        .expect(200);
      assert.deepEqual(delay.body.batching, { ...expected, maxQueueDelayMs: 0 });
      const off = await http()
        .patch('/api/v1/models/batched')
        .send({ batching: { enabled: false } })
        .expect(200);
      assert.deepEqual(off.body.batching, { ...expected, maxQueueDelayMs: 0, enabled: false });
      const bounds = await http()
        .patch('/api/v1/models/batched')
        .send({
          batching: { enabled: true, maxBatchSize: 1024, maxQueueDelayMs: 1000, preferredBatchSizes: [2, 1024] },
        })
        .expect(200);
      assert.deepEqual(bounds.body.batching, {
        enabled: true,
        maxBatchSize: 1024,
        maxQueueDelayMs: 1000,
        preferredBatchSizes: [2, 1024],
      });
      const cleared = await http()
        .patch('/api/v1/models/batched')
        .send({ batching: { maxBatchSize: 2, preferredBatchSizes: [] } })
        .expect(200);
      assert.deepEqual(cleared.body.batching.preferredBatchSizes, []);
      assert.equal(cleared.body.batching.maxBatchSize, 2);
    });

    it('a model may be created with batching on', async () => {
      const created = await http()
        .post('/api/v1/models')
        .send({ name: 'born-batched', batching: { enabled: true } })
        .expect(201);
      assert.deepEqual(created.body.batching, { ...DEFAULTS, enabled: true });
      await http()
        .post('/api/v1/models')
        .send({ name: 'born-invalid', batching: { maxBatchSize: 0 } })
        .expect(400);
      await http().get('/api/v1/models/born-invalid').expect(404);
    });

    for (const { batching, message } of INVALID) {
      it(`answers 400 and changes nothing for batching ${JSON.stringify(batching)?.slice(0, 60)}`, async () => {
        const name = 'bounds';
        if ((await http().get(`/api/v1/models/${name}`)).status === 404) await createModel(http, name);
        const before = await model(name);
        const res = await http().patch(`/api/v1/models/${name}`).send({ description: 'must not be written', batching });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.match(res.body.message, message);
        assert.deepEqual(await model(name), before, 'nothing changed, not even the description');
      });
    }

    it('refuses to turn batching on while a version has a fixed first dimension, naming it', async () => {
      await createModel(http, 'fixed');
      await uploadVersion(http, 'fixed', mlpModel(), 1);
      await uploadVersion(http, 'fixed', mlpModel({ batch: 1, seed: 2 }), 2);
      const before = await model('fixed');
      const res = await http()
        .patch('/api/v1/models/fixed')
        .send({ description: 'must not be written', batching: { enabled: true, maxBatchSize: 16 } })
        .expect(400);
      assert.match(res.body.message, /Batching cannot be enabled for 'fixed'/);
      assert.match(res.body.message, /version 2: input 'x' has the fixed first dimension 1 \(shape \[1, 4\]\)/);
      assert.deepEqual(res.body.details, [
        { field: 'batching.enabled', problem: "version 2: input 'x' has the fixed first dimension 1 (shape [1, 4])" },
      ]);
      assert.deepEqual(await model('fixed'), before, 'nothing changed');

      // Settings that do not turn batching on are still accepted (they apply once it is on).
      const tuned = await http()
        .patch('/api/v1/models/fixed')
        .send({ batching: { maxBatchSize: 16 } })
        .expect(200);
      assert.deepEqual(tuned.body.batching, { ...DEFAULTS, maxBatchSize: 16 });

      // Without the offending version, batching can be turned on.
      await http().delete('/api/v1/models/fixed/versions/2').expect(204);
      const on = await http()
        .patch('/api/v1/models/fixed')
        .send({ batching: { enabled: true } })
        .expect(200);
      assert.deepEqual(on.body.batching, { ...DEFAULTS, maxBatchSize: 16, enabled: true });
    });

    it('refuses a version whose input has no first dimension (rank 0)', async () => {
      await createModel(http, 'scalar');
      await uploadVersion(http, 'scalar', scalarModel(), 1);
      const res = await http()
        .patch('/api/v1/models/scalar')
        .send({ batching: { enabled: true } })
        .expect(400);
      assert.match(res.body.message, /version 1: input 'x' has no first dimension \(rank 0/);
      assert.equal((await model('scalar')).batching.enabled, false);
    });

    it('accepts a later upload that cannot batch; batching stays on and that version still serves', async () => {
      await createModel(http, 'later');
      await uploadVersion(http, 'later', mlpModel(), 1);
      await http()
        .patch('/api/v1/models/later')
        .send({ batching: { enabled: true, maxQueueDelayMs: 1 } })
        .expect(200);
      await uploadVersion(http, 'later', mlpModel({ batch: 1, seed: 3 }), 2);
      assert.equal((await model('later')).batching.enabled, true);
      const served = await http()
        .post('/api/v1/predictions')
        .send({ model: 'later', inputs: { x: matrix(1, 4, 1) } });
      assert.equal(served.status, 200, JSON.stringify(served.body));
      assert.equal(served.body.version, 2);
      assert.deepEqual(served.body.outputs.y.shape, [1, 3]);
    });

    it('audits a batching change with the whole resulting settings, and nothing for a refused one', async () => {
      await createModel(http, 'audited-batching');
      await http()
        .patch('/api/v1/models/audited-batching')
        .set('X-Request-Id', 'batching-audit-1')
        .send({ batching: { enabled: true, preferredBatchSizes: [4, 2] } })
        .expect(200);
      await http()
        .patch('/api/v1/models/audited-batching')
        .send({ batching: { maxBatchSize: 4000 } })
        .expect(400);
      const events = (await auditPage(t, { target: 'model:audited-batching' })).items;
      assert.deepEqual(events.map((e) => e.action).sort(), ['model.create', 'model.update']);
      const update = events.find((e) => e.action === 'model.update');
      assert.equal(update?.requestId, 'batching-audit-1');
      assert.deepEqual(update?.details, {
        fields: ['batching'],
        batching: { enabled: true, maxBatchSize: 8, maxQueueDelayMs: 0, preferredBatchSizes: [2, 4] },
      });
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { memberAt, stablePoint } from '../../src/models/traffic-policy';
import { PredictionLogService } from '../../src/predictions/prediction-log.service';
import { auditPage } from '../support/audit-helpers';
import { OipGrpcClient } from '../support/oip-grpc-client';
import { mlpModel } from '../support/onnx-models';
import { createModel, Http, predictReply, uploadVersion } from '../support/prediction-cache-helpers';
import { testEngines } from '../support/postgres';
import { freePort } from '../support/service-process';
import { authed, startTestApp, TestApp } from '../support/test-app';

/**
 * The traffic policy: PUT/GET/DELETE /api/v1/models/{name}/traffic, and requests that name no
 * version split between its members (predictions and the Open Inference Protocol), by sticky
 * header when set. Versions 1, 2 and 3 of `splitter` are MLPs with different weights, so their
 * outputs tell them apart; version 3 is archived. Tight shares are the unit spec's
 * (traffic-policy.spec.ts): over HTTP each member need only be seen.
 */

const X = [[0.5, -1.25, 3, 0.1]];
const body = (version?: number | string) => ({
  model: 'splitter',
  inputs: { x: X },
  ...(version === undefined ? {} : { version }),
});
const oipBody = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: X.flat() }] };
const NO_CACHE = { 'Cache-Control': 'no-cache' };
const EVEN = {
  split: [
    { version: 1, weight: 1 },
    { version: 'champion', weight: 1 },
  ],
};

for (const engine of testEngines()) {
  describe(`traffic policy on ${engine}`, () => {
    let t: TestApp;
    let grpc: OipGrpcClient;
    const http: Http = () => authed(t);
    const outputs: Record<number, unknown> = {};

    const putTraffic = (payload: unknown, model = 'splitter') =>
      http()
        .put(`/api/v1/models/${model}/traffic`)
        .send(payload as object);

    /** A prediction that must succeed; the version that served it (body and header agree) and its outputs. */
    async function served(version?: number | string, headers: Record<string, string> = NO_CACHE) {
      const reply = await predictReply(http, body(version), headers);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.xModelVersion, String(reply.body.version));
      return { version: reply.body.version, outputs: reply.body.outputs };
    }

    before(async () => {
      const port = await freePort();
      t = await startTestApp(engine, { env: { GRPC_PORT: String(port) } });
      grpc = new OipGrpcClient(`127.0.0.1:${port}`, t.adminKey);
      await createModel(http, 'splitter', { cache: { enabled: true } });
      for (const seed of [1, 2, 3]) await uploadVersion(http, 'splitter', mlpModel({ seed }), seed);
      for (const version of [1, 2, 3]) outputs[version] = (await served(version)).outputs;
      assert.notDeepEqual(outputs[1], outputs[2], 'the versions must answer differently');
      await http().patch('/api/v1/models/splitter/versions/3').send({ status: 'archived' }).expect(200);
      await http().put('/api/v1/models/splitter/aliases/champion').send({ version: 2 }).expect(200);
    });
    after(async () => {
      grpc?.close();
      await t?.close();
    });

    it('GET answers 404 while the model has no policy; requests naming no version get the latest ready one', async () => {
      const res = await http().get('/api/v1/models/splitter/traffic').expect(404);
      assert.match(res.body.message, /no traffic policy/);
      assert.equal((await served()).version, 2);
    });

    it('PUT sets the policy and answers it (sticky header in lower case); GET reads it; audited', async () => {
      const res = await putTraffic({ ...EVEN, sticky: { header: 'X-User-Id' } }).expect(200);
      const policy = { ...EVEN, sticky: { header: 'x-user-id' }, shadow: null };
      assert.deepEqual(res.body, policy);
      assert.deepEqual((await http().get('/api/v1/models/splitter/traffic').expect(200)).body, policy);
      const page = await auditPage(t, { action: 'traffic.set' });
      assert.equal(page.items[0].target, 'model:splitter');
      assert.deepEqual(page.items[0].details, { ...policy, previous: null });
    });

    it('requests naming no version spread over the members, each answered by the version it names', async () => {
      await putTraffic(EVEN).expect(200);
      const seen = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const { version, outputs: answer } = await served();
        assert.deepEqual(answer, outputs[version], `version ${version} answered another version's outputs`);
        seen.add(version);
      }
      assert.deepEqual([...seen].sort(), [1, 2]);
      await t.app.get(PredictionLogService).flush();
      const log = await http().get('/api/v1/predictions?limit=100').expect(200);
      const logged = new Set(
        (log.body.items as { model: string; version: number }[])
          .filter((r) => r.model === 'splitter')
          .map((r) => r.version),
      );
      assert.deepEqual([...logged].sort(), [1, 2], 'the log records the version that served');
    });

    it('a version, an alias or latest named explicitly is not split', async () => {
      await putTraffic({ split: [{ version: 1, weight: 1 }] }).expect(200);
      assert.equal((await served()).version, 1);
      assert.equal((await served('latest')).version, 2);
      assert.equal((await served('champion')).version, 2);
      assert.equal((await served(2)).version, 2);
    });

    it('a sticky header value keeps its version; the prediction cache never answers one member for another', async () => {
      await putTraffic({ ...EVEN, sticky: { header: 'x-user-id' } }).expect(200);
      // Users whose values fall into each member's share, as the server will hash them.
      const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
      const expected = (user: string) => (memberAt(EVEN.split, stablePoint(user)).version === 1 ? 1 : 2);
      const pair = [users.find((u) => expected(u) === 1), users.find((u) => expected(u) === 2)] as string[];
      for (const user of users.slice(0, 8)) {
        for (let i = 0; i < 5; i++)
          assert.equal((await served(undefined, { ...NO_CACHE, 'X-User-Id': user })).version, expected(user), user);
      }
      // The same body through the cache, alternating users of the two members: each gets its own version.
      for (let round = 0; round < 3; round++) {
        for (const user of pair) {
          const { version, outputs: answer } = await served(undefined, { 'X-User-Id': user });
          assert.equal(version, expected(user));
          assert.deepEqual(answer, outputs[version]);
        }
      }
    });

    it('Open Inference Protocol REST without a version follows the policy and names the version', async () => {
      await putTraffic({
        split: [
          { version: 1, weight: 0 },
          { version: 'champion', weight: 1 },
        ],
      }).expect(200);
      const res = await http().post('/v2/models/splitter/infer').send(oipBody).expect(200);
      assert.equal(res.body.model_version, '2');
      assert.equal(res.headers['x-model-version'], '2');
      await putTraffic({
        split: [
          { version: 1, weight: 1 },
          { version: 2, weight: 0 },
        ],
      }).expect(200);
      assert.equal((await http().post('/v2/models/splitter/infer').send(oipBody).expect(200)).body.model_version, '1');
      assert.equal(
        (await http().post('/v2/models/splitter/versions/latest/infer').send(oipBody).expect(200)).body.model_version,
        '2',
      );
    });

    it('gRPC with an empty model_version follows the policy, sticky by metadata', async () => {
      const infer = async (metadata?: Record<string, string>) =>
        (
          await grpc.modelInfer(
            {
              model_name: 'splitter',
              model_version: '',
              inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: X.flat() } }],
            },
            { metadata: { 'cache-control': 'no-cache', ...metadata } },
          )
        ).response.model_version;
      await putTraffic({
        split: [
          { version: 1, weight: 0 },
          { version: 2, weight: 1 },
        ],
      }).expect(200);
      assert.equal(await infer(), '2');
      await putTraffic({ ...EVEN, sticky: { header: 'x-user-id' } }).expect(200);
      for (const user of ['ann', 'ben', 'cat']) {
        const want = String(memberAt(EVEN.split, stablePoint(user)).version === 1 ? 1 : 2);
        for (let i = 0; i < 5; i++) assert.equal(await infer({ 'x-user-id': user }), want, user);
      }
    });

    it('a job naming no version runs on a member of the policy', async () => {
      await putTraffic({ split: [{ version: 1, weight: 1 }] }).expect(200);
      const res = await http()
        .post('/api/v1/jobs')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ model: 'splitter', instances: [{ inputs: { x: X } }] }))
        .expect(202);
      assert.equal(res.body.version, 1);
    });

    const member = (version: unknown, weight: unknown) => ({ version, weight });
    for (const [why, payload, says] of [
      ['a negative weight', { split: [member(1, -1), member(2, 2)] }, /split\[0\]\.weight/],
      ['a weight that is no number', { split: [member(1, '5')] }, /split\[0\]\.weight/],
      ['a fractional weight', { split: [member(1, 0.5)] }, /split\[0\]\.weight/],
      ['all weights zero', { split: [member(1, 0), member(2, 0)] }, /above 0/],
      ['an empty split', { split: [] }, /split must be/],
      ['no split', { sticky: { header: 'x-user-id' } }, /split must be/],
      ['a duplicate member', { split: [member(2, 1), member(2, 1)] }, /split\[1\]\.version: 2 is named twice/],
      ['more than 16 members', { split: Array.from({ length: 17 }, () => member(1, 1)) }, /1 to 16 members/],
      ['latest as a member', { split: [member('latest', 1)] }, /split\[0\]\.version/],
      ['a header that is no token', { split: [member(1, 1)], sticky: { header: 'x user' } }, /sticky\.header/],
      [
        'a reserved header',
        { split: [member(1, 1)], sticky: { header: 'Authorization' } },
        /'authorization' is reserved/,
      ],
      ['the cookie header', { split: [member(1, 1)], sticky: { header: 'cookie' } }, /reserved/],
      ['an unknown field', { split: [member(1, 1)], mirror: { version: 2 } }, /Unknown field 'mirror'/],
    ] as [string, unknown, RegExp][]) {
      it(`PUT answers 400 for ${why} and keeps the policy`, async () => {
        const before = (await http().get('/api/v1/models/splitter/traffic').expect(200)).body;
        const res = await putTraffic(payload).expect(400);
        assert.match(res.body.message, says);
        assert.deepEqual((await http().get('/api/v1/models/splitter/traffic').expect(200)).body, before);
      });
    }

    it('PUT answers 404 naming an unknown version, alias or model, and 409 naming an archived version', async () => {
      assert.match((await putTraffic({ split: [member(99, 1)] }).expect(404)).body.message, /no version 99/);
      assert.match((await putTraffic({ split: [member('nobody', 1)] }).expect(404)).body.message, /no alias 'nobody'/);
      await putTraffic({ split: [member(1, 1)] }, 'no-such-model').expect(404);
      const archived = await putTraffic({ split: [member(1, 1), member(3, 1)] }).expect(409);
      assert.match(archived.body.message, /version 3 of 'splitter', which is archived/);
    });

    it('deleting a version or alias the policy names answers 409 naming the policy', async () => {
      await putTraffic({ split: [member(1, 1), member('champion', 1)] }).expect(200);
      const version = await http().delete('/api/v1/models/splitter/versions/1').expect(409);
      assert.match(version.body.message, /Version 1 of 'splitter' is a member of its traffic policy/);
      const alias = await http().delete('/api/v1/models/splitter/aliases/champion').expect(409);
      assert.match(alias.body.message, /Alias 'champion' of 'splitter' is a member of its traffic policy/);
      await http().get('/api/v1/models/splitter/versions/1').expect(200);
    });

    it('archiving a version the policy serves, or moving its alias onto an archived one, answers 409', async () => {
      await putTraffic({ split: [member(1, 1), member('champion', 1)] }).expect(200);
      const byNumber = await http()
        .patch('/api/v1/models/splitter/versions/1')
        .send({ status: 'archived' })
        .expect(409);
      assert.match(byNumber.body.message, /Version 1 of 'splitter' is a member of its traffic policy/);
      const byAlias = await http().patch('/api/v1/models/splitter/versions/2').send({ status: 'archived' }).expect(409);
      assert.match(byAlias.body.message, /Alias 'champion' of 'splitter' is a member of its traffic policy/);
      const moved = await http().put('/api/v1/models/splitter/aliases/champion').send({ version: 3 }).expect(409);
      assert.match(moved.body.message, /Alias 'champion' of 'splitter' is a member of its traffic policy/);
      await http().patch('/api/v1/models/splitter/versions/1').send({ description: 'still served' }).expect(200);
      assert.equal((await http().get('/api/v1/models/splitter/versions/1').expect(200)).body.status, 'ready');
    });

    it('DELETE removes the policy (204, audited): requests naming no version get the latest again', async () => {
      await putTraffic({ split: [member(1, 1)] }).expect(200);
      await http().delete('/api/v1/models/splitter/traffic').expect(204);
      const page = await auditPage(t, { action: 'traffic.delete' });
      assert.deepEqual(page.items[0].details, { previous: { split: [member(1, 1)], sticky: null, shadow: null } });
      await http().get('/api/v1/models/splitter/traffic').expect(404);
      await http().delete('/api/v1/models/splitter/traffic').expect(404);
      assert.equal((await served()).version, 2);
    });
  });
}

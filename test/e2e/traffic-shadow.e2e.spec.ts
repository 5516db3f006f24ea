import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferenceService } from '../../src/inference/inference.service';
import { MetricsService } from '../../src/metrics/metrics.service';
import { PredictionEntity } from '../../src/predictions/entities/prediction.entity';
import { PredictionLogService } from '../../src/predictions/prediction-log.service';
import type { TrafficStatsDto } from '../../src/predictions/dto/traffic-stats.dto';
import { createKey } from '../support/auth-helpers';
import { sampleValue } from '../support/metrics-text';
import { holdModelLoads } from '../support/model-gate';
import { OipGrpcClient } from '../support/oip-grpc-client';
import { freePort } from '../support/service-process';
import { mlpModel } from '../support/onnx-models';
import { createModel, Http, predictReply, uploadVersion } from '../support/prediction-cache-helpers';
import { testEngines } from '../support/postgres';
import { prng } from '../support/prng';
import { authed, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * Shadow deployments (traffic policy `shadow`) and GET .../traffic/stats. Each scenario has a
 * model of its own, so its counts are its own: version 1 serves (an MLP), the shadow is the same
 * bytes (`twin`), another MLP (`rival`), or an MLP of another input size (`misfit`, whose every
 * run fails). SHADOW_MAX_IN_FLIGHT is 1, so a held shadow run makes the next mirror drop; the
 * tests wait for each shadow row before the next request where they count exactly.
 */

const NO_CACHE = { 'Cache-Control': 'no-cache' };
const SERVED_FIELDS = ['cached', 'model', 'outputs', 'timing', 'version'];

/** `count` inputs of the MLP's shape [1, 4], from a seeded generator. */
function inputsOf(count: number, seed: number): number[][][] {
  const random = prng(seed);
  return Array.from({ length: count }, () => [Array.from({ length: 4 }, () => random() * 8 - 4)]);
}

function argmax(row: number[]): number {
  return row.reduce((best, value, i) => (value > row[best] ? i : best), 0);
}

for (const engine of testEngines()) {
  describe(`shadow deployments on ${engine}`, () => {
    let t: TestApp;
    let grpc: OipGrpcClient;
    const http: Http = () => authed(t);
    const sha256: Record<string, string> = {};

    const putTraffic = (model: string, payload: unknown) =>
      http()
        .put(`/api/v1/models/${model}/traffic`)
        .send(payload as object);
    const stats = async (model: string, query = ''): Promise<TrafficStatsDto> =>
      (await http().get(`/api/v1/models/${model}/traffic/stats${query}`).expect(200)).body as TrafficStatsDto;

    /** The model's log rows of one role, once everything recorded so far is written. */
    async function rows(model: string, role: 'served' | 'shadow'): Promise<PredictionEntity[]> {
      await t.app.get(PredictionLogService).flush();
      return t.dataSource.getRepository(PredictionEntity).find({ where: { model, role }, order: { createdAt: 'ASC' } });
    }

    /** Waits until the model has `count` shadow rows (written); answers them. */
    function shadowRows(model: string, count: number): Promise<PredictionEntity[]> {
      return waitFor(
        async () => {
          const found = await rows(model, 'shadow');
          return found.length >= count ? found : undefined;
        },
        { what: `${count} shadow rows of ${model}` },
      );
    }

    /** A prediction naming no version: must be answered (200) by version 1 with only the served fields. */
    async function served(model: string, x: number[][]) {
      const reply = await predictReply(http, { model, inputs: { x } }, NO_CACHE);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body.version, 1);
      assert.deepEqual(Object.keys(reply.body).sort(), SERVED_FIELDS, 'nothing of the shadow in the answer');
      return reply.body.outputs.y.data as number[];
    }

    /** A model whose version 1 is the MLP of seed 1 and version 2 `shadow`; version 3 archived. */
    async function modelWith(name: string, shadow: Buffer) {
      await createModel(http, name);
      await uploadVersion(http, name, mlpModel({ seed: 1 }), 1);
      await uploadVersion(http, name, shadow, 2);
      await uploadVersion(http, name, mlpModel({ seed: 3 }), 3);
      await http().patch(`/api/v1/models/${name}/versions/3`).send({ status: 'archived' }).expect(200);
      sha256[name] = (await http().get(`/api/v1/models/${name}/versions/2`).expect(200)).body.sha256 as string;
    }

    before(async () => {
      const grpcPort = await freePort();
      t = await startTestApp(engine, {
        listen: true,
        env: {
          INFERENCE_WORKERS: '2',
          SHADOW_MAX_IN_FLIGHT: '1',
          PREDICTION_LOG_SAMPLE_RATE: '1',
          GRPC_PORT: String(grpcPort),
        },
      });
      grpc = new OipGrpcClient(`127.0.0.1:${grpcPort}`, t.adminKey);
      await modelWith('twin', mlpModel({ seed: 1 }));
      await modelWith('rival', mlpModel({ seed: 7 }));
      await modelWith('misfit', mlpModel({ seed: 1, inputSize: 5 }));
      await modelWith('held', mlpModel({ seed: 9 }));
      await modelWith('rules', mlpModel({ seed: 1 }));
      await http().put('/api/v1/models/rules/aliases/one').send({ version: 1 }).expect(200);
      await http().put('/api/v1/models/rules/aliases/candidate').send({ version: 2 }).expect(200);
    });
    after(async () => {
      grpc?.close();
      await t?.close();
    });

    const split = [{ version: 1, weight: 1 }];
    for (const [why, shadow, status, says] of [
      ['an unknown version', { version: 99, percent: 5 }, 404, /no version 99/],
      ['an unknown alias', { version: 'nobody', percent: 5 }, 404, /no alias 'nobody'/],
      ['an archived version', { version: 3, percent: 5 }, 409, /shadow names version 3 of 'rules', which is archived/],
      ['a split member', { version: 1, percent: 5 }, 400, /shadow\.version: 1 is a member of the split/],
      ['an alias of a split member', { version: 'one', percent: 5 }, 400, /shadow\.version: one is version 1/],
      ['a percent that is text', { version: 2, percent: '5' }, 400, /shadow\.percent/],
      ['a percent over 100', { version: 2, percent: 101 }, 400, /shadow\.percent/],
      ['a negative percent', { version: 2, percent: -1 }, 400, /shadow\.percent/],
      ['latest', { version: 'latest', percent: 5 }, 400, /shadow\.version/],
    ] as [string, unknown, number, RegExp][]) {
      it(`PUT answers ${status} for a shadow naming ${why}, and keeps the policy`, async () => {
        await putTraffic('rules', { split }).expect(200);
        const res = await putTraffic('rules', { split, shadow }).expect(status);
        assert.match(res.body.message, says);
        const kept = await http().get('/api/v1/models/rules/traffic').expect(200);
        assert.deepEqual(kept.body, { split, sticky: null, shadow: null });
      });
    }

    it('PUT stores a shadow by alias and answers it; the shadow version or its alias cannot be deleted or archived', async () => {
      const policy = { split, sticky: null, shadow: { version: 'candidate', percent: 12.5 } };
      assert.deepEqual((await putTraffic('rules', policy).expect(200)).body, policy);
      assert.deepEqual((await http().get('/api/v1/models/rules/traffic').expect(200)).body, policy);
      const alias = await http().delete('/api/v1/models/rules/aliases/candidate').expect(409);
      assert.match(alias.body.message, /Alias 'candidate' of 'rules' is the shadow of its traffic policy/);
      const archive = await http().patch('/api/v1/models/rules/versions/2').send({ status: 'archived' }).expect(409);
      assert.match(archive.body.message, /the shadow of its traffic policy/);
      await putTraffic('rules', { split, shadow: { version: 2, percent: 1 } }).expect(200);
      const version = await http().delete('/api/v1/models/rules/versions/2').expect(409);
      assert.match(version.body.message, /Version 2 of 'rules' is the shadow of its traffic policy/);
      await http().get('/api/v1/models/rules/versions/2').expect(200);
    });

    it('a shadow of the same bytes at 100%: every request answered by the split, logged twice, agreement 1', async () => {
      await putTraffic('twin', { split, shadow: { version: 2, percent: 100 } }).expect(200);
      const inputs = inputsOf(8, 1);
      for (const [i, x] of inputs.entries()) {
        await served('twin', x);
        await shadowRows('twin', i + 1); // one in flight at a time: none is dropped
      }
      // Named versions are never mirrored.
      assert.equal(
        (await predictReply(http, { model: 'twin', version: 1, inputs: { x: inputs[0] } }, NO_CACHE)).status,
        200,
      );
      const servedRows = (await rows('twin', 'served')).filter((row) => row.status === 'ok');
      const shadows = await rows('twin', 'shadow');
      assert.equal(shadows.length, inputs.length);
      for (const row of shadows) {
        assert.equal(row.status, 'ok');
        assert.equal(row.version, 2);
        assert.equal(Boolean(row.agrees), true);
        assert.equal(row.maxRelDiff, 0);
        assert.ok(
          servedRows.some((s) => s.id === row.servedId && s.version === 1),
          'linked to its served row',
        );
      }
      const body = await stats('twin');
      assert.equal(body.minutes, 60);
      assert.deepEqual(
        body.versions.map(({ version, requests, errors }) => ({ version, requests, errors })),
        [{ version: 1, requests: inputs.length + 1, errors: 0 }],
      );
      assert.equal(body.versions[0].latencyMs?.sample, inputs.length + 1);
      assert.equal(body.shadows.length, 1);
      const [shadow] = body.shadows;
      assert.deepEqual(
        { ...shadow, latencyMs: undefined },
        {
          version: 2,
          mirrored: inputs.length,
          dropped: 0,
          errors: 0,
          compared: inputs.length,
          agreement: 1,
          maxRelDiff: { mean: 0, max: 0 },
          latencyMs: undefined,
        },
      );
      assert.ok(shadow.latencyMs && shadow.latencyMs.p50 <= shadow.latencyMs.p99);
    });

    it('a different model as the shadow: agreement is the share of same argmax, and the client only sees version 1', async () => {
      await putTraffic('rival', { split, shadow: { version: 2, percent: 100 } }).expect(200);
      const inputs = inputsOf(16, 2);
      let same = 0;
      for (const [i, x] of inputs.entries()) {
        const pinned = await predictReply(http, { model: 'rival', version: 2, inputs: { x } }, NO_CACHE);
        const answer = await served('rival', x);
        await shadowRows('rival', i + 1);
        const theirs = pinned.body.outputs.y.data as number[];
        assert.notDeepEqual(answer, theirs, 'the answer is version 1, not the shadow');
        if (argmax(answer) === argmax(theirs)) same++;
      }
      assert.ok(same < inputs.length, 'the inputs must tell the two models apart');
      const [shadow] = (await stats('rival')).shadows;
      assert.equal(shadow.mirrored, inputs.length);
      assert.equal(shadow.compared, inputs.length);
      assert.equal(shadow.agreement, same / inputs.length);
      assert.ok(shadow.maxRelDiff && shadow.maxRelDiff.max > 0.001);
    });

    it('a shadow that fails on every request changes no answer: its errors are logged for it', async () => {
      await putTraffic('misfit', { split, shadow: { version: 2, percent: 100 } }).expect(200);
      const inputs = inputsOf(4, 3);
      for (const [i, x] of inputs.entries()) {
        await served('misfit', x);
        await shadowRows('misfit', i + 1);
      }
      const shadows = await rows('misfit', 'shadow');
      for (const row of shadows) {
        assert.equal(row.status, 'invalid');
        assert.equal(row.version, 2);
        assert.match(row.error ?? '', /x/);
      }
      const body = await stats('misfit');
      assert.deepEqual(
        body.versions.map(({ version, requests, errors }) => ({ version, requests, errors })),
        [{ version: 1, requests: inputs.length, errors: 0 }],
      );
      assert.equal(body.shadows[0].errors, inputs.length);
      assert.equal(body.shadows[0].compared, 0);
      assert.equal(body.shadows[0].agreement, null);
    });

    it('drops (and counts) a mirror while SHADOW_MAX_IN_FLIGHT shadow runs are in flight; served requests go on', async () => {
      await putTraffic('held', { split, shadow: { version: 2, percent: 100 } }).expect(200);
      const engine = t.app.get(InferenceService);
      const metrics = t.app.get(MetricsService);
      const gate = await holdModelLoads(t, sha256.held);
      try {
        await served('held', inputsOf(1, 4)[0]);
        await waitFor(() => engine.status().queueDepth.held === 1, { what: 'the shadow run to be held' });
        for (const x of inputsOf(3, 5)) await served('held', x);
        await waitFor(
          async () => (await rows('held', 'shadow')).filter((row) => row.status === 'dropped').length === 3,
          { what: 'three dropped mirrors' },
        );
        assert.equal(sampleValue(await metrics.render(), 'modelforge_shadow_dropped_total', { model: 'held' }), 3);
      } finally {
        gate.release();
      }
      const done = await waitFor(async () => (await rows('held', 'shadow')).find((row) => row.status === 'ok'), {
        what: 'the held shadow run to finish',
      });
      assert.equal(done.version, 2);
      const [shadow] = (await stats('held')).shadows;
      assert.deepEqual([shadow.mirrored, shadow.dropped, shadow.errors], [1, 3, 0]);
      assert.equal((await stats('held')).versions[0].errors, 0);
    });

    it('Open Inference Protocol infers naming no version (REST and gRPC) are mirrored too', async () => {
      const x = [0.5, -1, 2, 3];
      const before = (await rows('twin', 'shadow')).length;
      const res = await http()
        .post('/v2/models/twin/infer')
        .set(NO_CACHE)
        .send({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }] })
        .expect(200);
      assert.equal(res.body.model_version, '1');
      await shadowRows('twin', before + 1);
      const reply = await grpc.modelInfer(
        {
          model_name: 'twin',
          model_version: '',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: x } }],
        },
        { metadata: { 'cache-control': 'no-cache' } },
      );
      assert.equal(reply.response.model_version, '1');
      const shadows = await shadowRows('twin', before + 2);
      for (const protocol of ['oip-rest', 'oip-grpc']) {
        const row = shadows.find((r) => r.protocol === protocol);
        assert.ok(row, `a shadow row of the ${protocol} infer`);
        assert.equal(row.status, 'ok');
        assert.equal(row.version, 2);
        assert.equal(Boolean(row.agrees), true);
      }
    });

    it('stats: minutes from 1 to 1440 (400 otherwise), 404 for an unknown model; viewer reads, predictor 403', async () => {
      for (const minutes of ['0', '1441', 'abc', '1e2', '-1', '']) {
        const res = await http().get(`/api/v1/models/twin/traffic/stats?minutes=${minutes}`);
        assert.equal(res.status, 400, `minutes=${minutes}`);
      }
      assert.equal((await stats('twin', '?minutes=1440')).minutes, 1440);
      await http().get('/api/v1/models/no-such-model/traffic/stats').expect(404);
      const baseUrl = t.baseUrl as string;
      const viewer = await createKey(baseUrl, t.adminKey, { name: 'shadow-viewer', role: 'viewer' });
      const predictor = await createKey(baseUrl, t.adminKey, { name: 'shadow-predictor', role: 'predictor' });
      const read = await authed(t, viewer.key).get('/api/v1/models/twin/traffic/stats').expect(200);
      assert.ok(!JSON.stringify(read.body).includes('outputs'), 'no payloads');
      await authed(t, predictor.key).get('/api/v1/models/twin/traffic/stats').expect(403);
    });
  });
}

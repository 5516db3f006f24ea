import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ShutdownState } from '../../src/health/shutdown-state';
import { PredictionLogService } from '../../src/predictions/prediction-log.service';
import { createKey } from '../support/audit-helpers';
import {
  CASES,
  FP16_VALUES,
  INT64_EXTREMES,
  answerOutputs,
  assertInferMatches,
  assertOipError,
  caseNamed,
  referenceOutputs,
} from '../support/oip-cases';
import {
  HEADER_LENGTH,
  InferAnswer,
  InferOptions,
  OipTensor,
  health,
  infer,
  inferRequest,
  modelMetadata,
  modelReady,
  send,
  serverMetadata,
} from '../support/oip-client';
import { mlpModel } from '../support/onnx-models';
import { createModel, httpOf, matrix, modelWithVersion, uploadVersion } from '../support/prediction-cache-helpers';
import { releaseReferenceSessions } from '../support/reference-run';
import { bearer, startTestApp, TestApp } from '../support/test-app';

/**
 * The Open Inference Protocol (KServe v2) over REST, as Triton's and KServe's clients speak it:
 * health, server and model metadata, ready, and infer with JSON (flat and nested), the binary
 * tensor data extension both ways and every mix of the two, versions in the path.
 * Every output is compared with a direct onnxruntime-node run of the same model.
 */

const APP_ENV = { SHUTDOWN_GRACE_MS: '1000', PREDICTION_LOG_FLUSH_MS: '600000' };

/** A model with two versions; version 2 has another signature, so answers show which version ran. */
const VERSIONED = 'versioned';
const MLP_V2 = mlpModel({ inputSize: 5, outputSize: 2, seed: 2 });
const MLP_V2_INPUT = { name: 'x', datatype: 'FP32' as const, shape: [1, 5], data: [1, -2, 0.5, 3, -0.25] };

/** Cases whose inputs have a JSON form (FP16 JSON may be refused: the issue allows a clear 400). */
const JSON_CASES = CASES.filter((c) => c.name !== 'fp16');

describe('Open Inference Protocol over REST on sqlite', () => {
  let t: TestApp;
  let base: string;
  let viewerKey: string;
  const http = httpOf(() => t);
  const admin = () => ({ Authorization: bearer(t.adminKey) });
  const run = (model: string, options: InferOptions): Promise<InferAnswer> =>
    infer(base, model, { ...options, headers: { ...admin(), ...options.headers } });

  before(async () => {
    t = await startTestApp('sqlite', { listen: true, env: APP_ENV });
    base = t.baseUrl ?? '';
    for (const c of CASES) await modelWithVersion(http, c.name, c.bytes);
    await modelWithVersion(http, VERSIONED, caseNamed('mlp').bytes);
    await uploadVersion(http, VERSIONED, MLP_V2, 2);
    await createModel(http, 'no-versions');
    viewerKey = (await createKey(t, { name: 'oip-viewer', role: 'viewer' })).key;
  });
  after(async () => {
    await t?.close();
    await releaseReferenceSessions();
  });

  describe('health, server metadata, model metadata and ready', () => {
    it('live and ready answer 200 with an empty body, without a credential', async () => {
      for (const probe of ['live', 'ready'] as const) {
        const res = await health(base, probe);
        assert.equal(res.status, 200, `${probe}: ${res.text}`);
        assert.equal(res.text, '', `${probe} has an empty body`);
      }
    });

    it('GET /v2 names the server, its version and the binary_tensor_data extension', async () => {
      const res = await serverMetadata(base, admin());
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body ?? {}).sort(), ['extensions', 'name', 'version']);
      assert.equal(res.body?.name, 'modelforge');
      assert.match(res.body?.version ?? '', /^\d+\.\d+\.\d+/);
      assert.ok(res.body?.extensions.includes('binary_tensor_data'), res.text);
    });

    for (const c of CASES) {
      it(`${c.name}: metadata maps the ONNX types to OIP datatypes, -1 for dynamic dimensions`, async () => {
        const res = await modelMetadata(base, c.name, undefined, admin());
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body, {
          name: c.name,
          versions: ['1'],
          platform: 'onnxruntime_onnx',
          inputs: c.inputs,
          outputs: c.outputs,
        });
      });
    }

    it('metadata lists every version as strings and describes the version the path names', async () => {
      const v1 = caseNamed('mlp');
      const expected = (inputs: unknown, outputs: unknown) => ({
        name: VERSIONED,
        versions: ['1', '2'],
        platform: 'onnxruntime_onnx',
        inputs,
        outputs,
      });
      const v2Signature = expected(
        [{ name: 'x', datatype: 'FP32', shape: [-1, 5] }],
        [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
      );
      assert.deepEqual((await modelMetadata(base, VERSIONED, undefined, admin())).body, v2Signature, 'latest');
      assert.deepEqual((await modelMetadata(base, VERSIONED, '2', admin())).body, v2Signature, 'versions/2');
      const v1Signature = expected(v1.inputs, v1.outputs);
      assert.deepEqual((await modelMetadata(base, VERSIONED, '1', admin())).body, v1Signature, 'versions/1');
    });

    it('any authenticated role reads metadata (viewer included)', async () => {
      const res = await modelMetadata(base, VERSIONED, '1', { Authorization: bearer(viewerKey) });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body?.name, VERSIONED);
    });

    it('metadata of an unknown model or version is a 404 {error} naming it', async () => {
      const model = await modelMetadata(base, 'nope', undefined, admin());
      assertOipError(model, 404, 'nope');
      const version = await modelMetadata(base, VERSIONED, '999', admin());
      assertOipError(version, 404, '999');
    });

    it('ready: 200 with an empty body when servable, by name and by version', async () => {
      for (const version of [undefined, '1', '2']) {
        const res = await modelReady(base, VERSIONED, version, admin());
        assert.equal(res.status, 200, `version ${version}: ${res.text}`);
        assert.equal(res.text, '');
      }
    });

    it('ready: 404 for an unknown model or version, 503 for a model with nothing to serve', async () => {
      assert.equal((await modelReady(base, 'nope', undefined, admin())).status, 404);
      assert.equal((await modelReady(base, VERSIONED, '999', admin())).status, 404);
      const pending = await modelReady(base, 'no-versions', undefined, admin());
      assert.equal(pending.status, 503, `a model without a version is not ready: ${pending.text}`);
    });
  });

  describe('infer: outputs equal a direct onnxruntime-node run', () => {
    for (const c of JSON_CASES) {
      it(`${c.name}: JSON in, JSON out (flat data), every output in the model's order`, async () => {
        const answer = await run(c.name, { inputs: c.sample });
        assertInferMatches(answer, await referenceOutputs(c), c.rtol);
        assert.equal(answer.header.model_name, c.name);
        assert.equal(answer.header.model_version, '1');
        assert.deepEqual(
          [...answer.outputs.keys()],
          c.outputs.map((o) => o.name),
        );
        for (const output of answer.header.outputs as Record<string, unknown>[]) {
          assert.deepEqual(Object.keys(output).sort(), ['data', 'datatype', 'name', 'shape']);
        }
        assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
        assert.equal(answer.headers.get(HEADER_LENGTH), null, 'a JSON answer has no header length');
        assert.equal(answer.headers.get('x-model-version'), '1');
        assert.match(answer.headers.get('x-cache') ?? '', /^(HIT|MISS|BYPASS)$/);
        assert.match(answer.headers.get('server-timing') ?? '', /;dur=/);
      });
    }

    for (const c of JSON_CASES.filter((c) => c.name !== 'scalar')) {
      it(`${c.name}: nested JSON data gives the flat data's outputs`, async () => {
        const nested = await run(c.name, { inputs: c.sample, nestedData: true });
        assertInferMatches(nested, await referenceOutputs(c), c.rtol);
      });
    }

    for (const c of CASES) {
      it(`${c.name}: binary in, binary out`, async () => {
        const answer = await run(c.name, { inputs: c.sample, binaryInputs: true, binaryOutputs: true });
        assertInferMatches(answer, await referenceOutputs(c), c.rtol);
        assert.equal(answer.headers.get('content-type'), 'application/octet-stream');
        assert.ok(Number(answer.headers.get(HEADER_LENGTH)) > 0, 'a binary answer carries the header length');
        for (const output of answer.header.outputs as Record<string, unknown>[]) {
          assert.equal(output.data, undefined, `${String(output.name)} carries no JSON data`);
          assert.deepEqual(Object.keys(output.parameters as object), ['binary_data_size']);
        }
        assert.ok([...answer.outputs.values()].every((o) => o.binary));
      });
    }

    for (const name of ['int64-bool', 'strings', 'dtypes', 'mlp']) {
      const c = caseNamed(name);
      it(`${name}: JSON in with binary out, and binary in with JSON out`, async () => {
        const expected = await referenceOutputs(c);
        const jsonIn = await run(name, { inputs: c.sample, binaryOutputs: true });
        assertInferMatches(jsonIn, expected, c.rtol);
        assert.ok(
          [...jsonIn.outputs.values()].every((o) => o.binary),
          'outputs came as binary data',
        );
        const binaryIn = await run(name, { inputs: c.sample, binaryInputs: true });
        assertInferMatches(binaryIn, expected, c.rtol);
        assert.ok(
          [...binaryIn.outputs.values()].every((o) => !o.binary),
          'outputs came as JSON',
        );
        assert.match(binaryIn.headers.get('content-type') ?? '', /^application\/json/);
      });
    }

    it('one input binary and the other JSON; binary_data per output, the request default for the rest', async () => {
      const c = caseNamed('multi-io');
      const [a, b] = c.sample;
      const answer = await run(c.name, {
        inputs: [{ ...a, binary: true }, b],
        outputs: [{ name: 'sum', binary: true }, { name: 'product', binary: false }, { name: 'total' }],
        binaryOutputs: true,
      });
      assertInferMatches(answer, await referenceOutputs(c), c.rtol);
      const forms = Object.fromEntries([...answer.outputs].map(([name, o]) => [name, o.binary]));
      assert.deepEqual(forms, { sum: true, product: false, total: true });

      const perOutput = await run(c.name, {
        inputs: [a, { ...b, binary: true }],
        outputs: [{ name: 'product', binary: true }, { name: 'total' }],
      });
      assertInferMatches(perOutput, await referenceOutputs(c, ['product', 'total']), c.rtol);
      const perOutputForms = Object.fromEntries([...perOutput.outputs].map(([name, o]) => [name, o.binary]));
      assert.deepEqual(perOutputForms, { product: true, total: false });
    });

    it('asking for one output answers that output only', async () => {
      const c = caseNamed('multi-io');
      const answer = await run(c.name, { inputs: c.sample, outputs: [{ name: 'total' }] });
      assertInferMatches(answer, await referenceOutputs(c, ['total']), c.rtol);
    });

    describe('INT64 past 2^53', () => {
      const c = caseNamed('int64-bool');
      const mask: OipTensor = { name: 'mask', datatype: 'BOOL', shape: [1, 4], data: [true, true, true, true] };
      const sample = [INT64_EXTREMES, mask];

      it('binary in, JSON out: the JSON digits are exact', async () => {
        const answer = await run(c.name, { inputs: sample, binaryInputs: true });
        assertInferMatches(answer, await referenceOutputs({ ...c, sample }), 0);
        assert.deepEqual(answer.outputs.get('masked')?.values, INT64_EXTREMES.data);
      });

      it('JSON in (digits, as numpy writes them), binary out: read exactly', async () => {
        const answer = await run(c.name, { inputs: sample, binaryOutputs: true });
        assertInferMatches(answer, await referenceOutputs({ ...c, sample }), 0);
        assert.deepEqual(answer.outputs.get('masked')?.values, INT64_EXTREMES.data);
      });
    });

    it('FP16 goes both ways as binary data, bit for bit', async () => {
      const c = caseNamed('fp16');
      const answer = await run(c.name, { inputs: c.sample, binaryInputs: true, binaryOutputs: true });
      assert.equal(answer.status, 200, JSON.stringify(answer.header));
      const y = answer.outputs.get('y');
      assert.equal(y?.datatype, 'FP16');
      assert.deepEqual(y?.shape, [FP16_VALUES.length]);
      assert.ok(Object.is(y?.values.at(-1), -0), 'the sign of -0 survives');
      assert.deepEqual(y?.values, FP16_VALUES);
    });
  });

  describe('infer: versions, id, parameters and content types', () => {
    it('the version in the path runs that version; none runs the latest', async () => {
      const v1 = caseNamed('mlp');
      const expectedV1 = await referenceOutputs(v1);
      const pinned = await run(VERSIONED, { version: '1', inputs: v1.sample });
      assertInferMatches(pinned, expectedV1, v1.rtol);
      assert.equal(pinned.header.model_version, '1');
      assert.equal(pinned.headers.get('x-model-version'), '1');
      const expectedV2 = await referenceOutputs({ ...v1, bytes: MLP_V2, sample: [MLP_V2_INPUT] });
      for (const version of ['2', undefined]) {
        const answer = await run(VERSIONED, { version, inputs: [MLP_V2_INPUT], binaryInputs: true });
        assertInferMatches(answer, expectedV2, v1.rtol);
        assert.equal(answer.header.model_version, '2', `version ${version ?? 'latest'}`);
      }
    });

    it('echoes the request id and passes the request parameters through', async () => {
      const c = caseNamed('multi-io');
      const parameters = { trace: 'abc-123', priority: 2, sample: true };
      const answer = await run(c.name, { inputs: c.sample, id: 'request-42', parameters });
      assert.equal(answer.status, 200, JSON.stringify(answer.header));
      assert.equal(answer.header.id, 'request-42');
      assert.deepEqual(answer.header.parameters, parameters);
      const noId = await run(c.name, { inputs: c.sample });
      assert.equal(noId.header.id, undefined, 'no id asked, none answered');
    });

    it('a JSON body without Content-Type is JSON (Triton Python client)', async () => {
      const c = caseNamed('int64-bool');
      const answer = await run(c.name, { inputs: c.sample, contentType: null });
      assertInferMatches(answer, await referenceOutputs(c), c.rtol);
    });

    it('a binary body without Content-Type, and one sent as application/octet-stream', async () => {
      const c = caseNamed('strings');
      const expected = await referenceOutputs(c);
      for (const contentType of [null, 'application/octet-stream']) {
        const answer = await run(c.name, { inputs: c.sample, binaryInputs: true, binaryOutputs: true, contentType });
        assertInferMatches(answer, expected, c.rtol);
      }
    });

    it('a gzip-encoded body (Content-Encoding: gzip), JSON or binary', async () => {
      const c = caseNamed('int64-bool');
      const expected = await referenceOutputs(c);
      for (const binaryInputs of [false, true]) {
        const request = inferRequest(c.name, { inputs: c.sample, binaryInputs, headers: admin() });
        const zipped = {
          ...request,
          headers: { ...request.headers, 'Content-Encoding': 'gzip' },
          body: gzipSync(request.body),
        };
        assertInferMatches(await send(base, zipped), expected, c.rtol);
      }
    });

    it('the same tensor sent as JSON and then as binary data shares one cache entry', async () => {
      const name = 'cached-mlp';
      await modelWithVersion(http, name, caseNamed('mlp').bytes);
      await http()
        .patch(`/api/v1/models/${name}`)
        .send({ cache: { enabled: true } })
        .expect(200);
      for (const [first, second] of [
        [false, true],
        [true, false],
      ]) {
        const x = { name: 'x', datatype: 'FP32' as const, shape: [3, 4], data: matrix(3, 4, first ? 7 : 8).flat() };
        const miss = await run(name, { inputs: [x], binaryInputs: first });
        assert.equal(miss.headers.get('x-cache'), 'MISS', JSON.stringify(miss.header));
        const hit = await run(name, { inputs: [x], binaryInputs: second });
        assert.equal(hit.headers.get('x-cache'), 'HIT', `${first ? 'binary' : 'JSON'} then the other`);
        assert.deepEqual(answerOutputs(hit), answerOutputs(miss));
      }
    });

    it('prediction log rows record the protocol: oip-rest here, rest for /api/v1', async () => {
      const name = 'logged-mlp';
      await modelWithVersion(http, name, caseNamed('mlp').bytes);
      const c = caseNamed('mlp');
      assert.equal((await run(name, { inputs: c.sample })).status, 200);
      assert.equal((await run(name, { inputs: c.sample, binaryInputs: true, binaryOutputs: true })).status, 200);
      assertOipError(await run(name, { inputs: [{ ...c.sample[0], shape: [3, 4] }] }), 400, 'x');
      await http()
        .post('/api/v1/predictions')
        .send({ model: name, inputs: { x: matrix(1, 4, 3) } })
        .expect(200);
      await t.app.get(PredictionLogService).flush();
      const res = await http().get('/api/v1/predictions').query({ model: name, limit: 10 }).expect(200);
      const rows = (res.body as { items: { protocol: string; statusCode: number }[] }).items;
      const seen = rows.map((r) => `${r.protocol} ${r.statusCode}`).sort();
      assert.deepEqual(seen, ['oip-rest 200', 'oip-rest 200', 'oip-rest 400', 'rest 200']);
    });
  });

  describe('readiness while shutting down', () => {
    it('/v2/health/ready turns 503 from the moment shutdown begins while live stays 200', async () => {
      assert.equal((await health(base, 'ready')).status, 200);
      t.app.get(ShutdownState).begin();
      assert.equal((await health(base, 'ready')).status, 503);
      assert.equal((await health(base, 'live')).status, 200);
    });
  });
});

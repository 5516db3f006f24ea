import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ChannelOptions, compressionAlgorithms } from '@grpc/grpc-js';
import { ShutdownState } from '../../src/health/shutdown-state';
import { InferenceService } from '../../src/inference/inference.service';
import { createKey, CreatedKey } from '../support/auth-helpers';
import { holdModelLoads } from '../support/model-gate';
import { GrpcStatus, InferRequest, OipGrpcClient, outputsAsJson, ServiceError } from '../support/oip-grpc-client';
import { bytesOf } from '../support/oip-wire';
import {
  float64Int32Uint8Int8Model,
  int64BoolModel,
  mlpModel,
  multiIoModel,
  stringModel,
} from '../support/onnx-models';
import { assertOutputsMatch, JsonTensor, referenceRun, releaseReferenceSessions } from '../support/reference-run';
import { BodyBudget } from '../../src/common/body-reader';
import { freePort, spawnService } from '../support/service-process';
import { authed, startTestApp, TestApp } from '../support/test-app';
import { track, waitFor } from '../support/wait-for';

/**
 * The Open Inference Protocol over gRPC (inference.GRPCInferenceService on GRPC_PORT), driven by
 * a real @grpc/grpc-js client built from the same .proto: every method, typed and raw contents,
 * outputs against a direct onnxruntime-node run, and each status a failure maps to.
 */

const FLOAT_RTOL = 1e-5;
/** Small enough that a test can send a bigger message (the limit of REST prediction bodies too). */
const MAX_BODY_BYTES = 64 * 1024;

const MODELS = {
  mlp: [mlpModel({ seed: 1 }), mlpModel({ seed: 2 })],
  'multi-io': [multiIoModel()],
  'int64-bool': [int64BoolModel()],
  strings: [stringModel()],
  dtypes: [float64Int32Uint8Int8Model()],
};

const MLP_X: JsonTensor = { dtype: 'float32', shape: [2, 4], data: [0.5, -1.25, 3, 0.1, -0.7, 2.2, 0, 1.9] };
const mlpTyped = (extra: Partial<InferRequest> = {}): InferRequest => ({
  model_name: 'mlp',
  inputs: [{ name: 'x', datatype: 'FP32', shape: MLP_X.shape, contents: { fp32_contents: MLP_X.data } }],
  ...extra,
});
const mlpRaw = (extra: Partial<InferRequest> = {}): InferRequest => ({
  model_name: 'mlp',
  inputs: [{ name: 'x', datatype: 'FP32', shape: MLP_X.shape }],
  raw_input_contents: [bytesOf('FP32', MLP_X.data as number[])],
  ...extra,
});

/** The call fails with `code`, its message matching `pattern`, and no stack or internal text in it. */
async function failsWith(call: Promise<unknown>, code: GrpcStatus, pattern?: RegExp): Promise<ServiceError> {
  let failure: ServiceError | undefined;
  await assert.rejects(call, (error: ServiceError) => {
    failure = error;
    return true;
  });
  assert.equal(
    failure!.code,
    code,
    `expected ${GrpcStatus[code]}, got ${GrpcStatus[failure!.code]}: ${failure!.details}`,
  );
  if (pattern) assert.match(failure!.details, pattern);
  assert.ok(!failure!.details.includes('    at '), 'no stack trace in a status message');
  return failure!;
}

async function startGrpcApp(env: Record<string, string>): Promise<{ t: TestApp; address: string }> {
  const port = await freePort();
  const t = await startTestApp('sqlite', {
    listen: true,
    env: { SHUTDOWN_GRACE_MS: '5000', GRPC_PORT: String(port), ...env },
  });
  return { t, address: `127.0.0.1:${port}` };
}

async function upload(t: TestApp, models: Record<string, Buffer[]>): Promise<Record<string, string>> {
  const sha256: Record<string, string> = {};
  for (const [name, versions] of Object.entries(models)) {
    await authed(t).post('/api/v1/models').send({ name }).expect(201);
    for (const bytes of versions) {
      const res = await authed(t).post(`/api/v1/models/${name}/versions`).attach('file', bytes, `${name}.onnx`);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      sha256[name] = res.body.sha256 as string;
    }
  }
  return sha256;
}

describe('Open Inference Protocol over gRPC', () => {
  let t: TestApp;
  let address: string;
  let predictor: CreatedKey;
  let viewer: CreatedKey;
  let scoped: CreatedKey;
  const clients: OipGrpcClient[] = [];
  const client = (credential?: string, options?: ChannelOptions): OipGrpcClient => {
    const made = new OipGrpcClient(address, credential, options);
    clients.push(made);
    return made;
  };
  let admin: OipGrpcClient;
  let anonymous: OipGrpcClient;

  before(async () => {
    ({ t, address } = await startGrpcApp({ MAX_JSON_BODY_BYTES: String(MAX_BODY_BYTES) }));
    await upload(t, MODELS);
    const baseUrl = t.baseUrl!;
    predictor = await createKey(baseUrl, t.adminKey, { name: 'grpc-predictor', role: 'predictor' });
    viewer = await createKey(baseUrl, t.adminKey, { name: 'grpc-viewer', role: 'viewer' });
    scoped = await createKey(baseUrl, t.adminKey, { name: 'grpc-scoped', role: 'predictor', models: ['multi-*'] });
    admin = client(t.adminKey);
    anonymous = client();
  });
  after(async () => {
    for (const made of clients) made.close();
    await t?.close();
    await releaseReferenceSessions();
  });

  describe('server and model metadata', () => {
    it('answers ServerLive and ServerReady without a credential, each with its request id', async () => {
      const live = await anonymous.serverLive();
      assert.deepEqual(live.response, { live: true });
      assert.match(String(live.trailers.get('x-request-id')[0]), /^[0-9a-f-]{36}$/);
      const ready = await anonymous.serverReady({ metadata: { 'x-request-id': 'probe-1' } });
      assert.deepEqual(ready.response, { ready: true });
      assert.deepEqual(ready.trailers.get('x-request-id'), ['probe-1']);
    });

    it('answers ServerMetadata as GET /v2 does: the same body, to any role', async () => {
      const rest = await fetch(`${t.baseUrl}/v2`, { headers: { Authorization: `Bearer ${viewer.key}` } });
      assert.equal(rest.status, 200);
      assert.deepEqual((await client(viewer.key).serverMetadata()).response, await rest.json());
      await failsWith(anonymous.serverMetadata(), GrpcStatus.UNAUTHENTICATED, /Missing credentials/);
    });

    it('answers ModelMetadata with platform onnxruntime_onnx, OIP datatypes, -1 dimensions and versions as strings', async () => {
      const tensor = (name: string, datatype: string, shape: string[]) => ({ name, datatype, shape });
      assert.deepEqual((await admin.modelMetadata({ name: 'mlp' })).response, {
        name: 'mlp',
        versions: ['1', '2'],
        platform: 'onnxruntime_onnx',
        inputs: [tensor('x', 'FP32', ['-1', '4'])],
        outputs: [tensor('y', 'FP32', ['-1', '3'])],
      });
      const dtypes = (await client(viewer.key).modelMetadata({ name: 'dtypes', version: '1' })).response;
      assert.deepEqual(
        dtypes.inputs.map((i) => i.datatype),
        ['FP64', 'INT32', 'UINT8', 'INT8'],
      );
      const int64Bool = (await admin.modelMetadata({ name: 'int64-bool' })).response;
      assert.deepEqual(int64Bool.inputs, [tensor('ids', 'INT64', ['-1', '4']), tensor('mask', 'BOOL', ['-1', '4'])]);
      assert.deepEqual((await admin.modelMetadata({ name: 'strings' })).response.outputs, [
        tensor('s_out', 'BYTES', ['-1']),
      ]);
    });

    it('answers ModelReady false and ModelInfer FAILED_PRECONDITION for a version that exists but is not ready', async () => {
      await upload(t, { unready: [mlpModel({ seed: 3 })] });
      // A version the registry keeps but does not serve (an upload whose checks failed).
      await t.dataSource.query(
        "UPDATE model_versions SET status = 'failed' WHERE model_id = (SELECT id FROM models WHERE name = 'unready')",
      );
      assert.deepEqual((await admin.modelReady({ name: 'unready', version: '1' })).response, { ready: false });
      await failsWith(
        admin.modelInfer(mlpRaw({ model_name: 'unready', model_version: '1' })),
        GrpcStatus.FAILED_PRECONDITION,
        /Version 1 of 'unready' is failed, not ready/,
      );
    });

    it('answers ModelReady true for a ready model and version, NOT_FOUND for an unknown model or version', async () => {
      assert.deepEqual((await client(viewer.key).modelReady({ name: 'mlp' })).response, { ready: true });
      assert.deepEqual((await admin.modelReady({ name: 'mlp', version: '1' })).response, { ready: true });
      await failsWith(admin.modelReady({ name: 'no-such-model' }), GrpcStatus.NOT_FOUND, /no-such-model/);
      await failsWith(admin.modelReady({ name: 'mlp', version: '9' }), GrpcStatus.NOT_FOUND, /9/);
      await failsWith(admin.modelMetadata({ name: 'no-such-model' }), GrpcStatus.NOT_FOUND, /no-such-model/);
    });
  });

  describe('ModelInfer', () => {
    it('answers typed contents with raw outputs equal to a direct onnxruntime-node run of the latest version', async () => {
      const { response } = await client(predictor.key).modelInfer(mlpTyped());
      assert.equal(response.model_name, 'mlp');
      assert.equal(response.model_version, '2');
      assert.equal(response.id, '');
      assert.equal(response.raw_output_contents.length, response.outputs.length, 'raw contents for every output');
      assert.deepEqual(response.outputs[0].shape, ['2', '3']);
      assertOutputsMatch(outputsAsJson(response), await referenceRun(MODELS.mlp[1], { x: MLP_X }), {
        rtol: FLOAT_RTOL,
      });
    });

    it('answers raw_input_contents with the same bytes as typed contents', async () => {
      const raw = (await admin.modelInfer(mlpRaw())).response;
      const typed = (await admin.modelInfer(mlpTyped())).response;
      assert.deepEqual(raw.outputs, typed.outputs);
      assert.deepEqual(raw.raw_output_contents, typed.raw_output_contents);
    });

    it('runs the version the request names and echoes the request id', async () => {
      const { response } = await admin.modelInfer(mlpRaw({ model_version: '1', id: 'grpc-req-1' }));
      assert.equal(response.model_version, '1');
      assert.equal(response.id, 'grpc-req-1');
      assertOutputsMatch(outputsAsJson(response), await referenceRun(MODELS.mlp[0], { x: MLP_X }), {
        rtol: FLOAT_RTOL,
      });
    });

    it('records each infer in the prediction log with the protocol oip-grpc', async () => {
      await client(predictor.key).modelInfer(mlpRaw({ model_version: '1' }));
      const rows = await waitFor(
        async () => {
          const res = await authed(t).get('/api/v1/predictions?model=mlp&limit=100').expect(200);
          const items = res.body.items as Array<{ protocol: string; version: number; status: string }>;
          return items.some((row) => row.protocol === 'oip-grpc' && row.version === 1) ? items : undefined;
        },
        { what: 'a logged oip-grpc prediction' },
      );
      assert.ok(
        rows.every((row) => row.protocol === 'oip-grpc'),
        'every mlp prediction here came over gRPC',
      );
    });

    it('answers only the output asked for', async () => {
      const a: JsonTensor = { dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 0.25, -4, 8] };
      const b: JsonTensor = { dtype: 'float32', shape: [2, 3], data: [10, 20, 30, 0.5, 0.5, -2] };
      const { response } = await client(scoped.key).modelInfer({
        model_name: 'multi-io',
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [2, 3] },
          { name: 'b', datatype: 'FP32', shape: [2, 3] },
        ],
        raw_input_contents: [bytesOf('FP32', a.data as number[]), bytesOf('FP32', b.data as number[])],
        outputs: [{ name: 'total' }],
      });
      assert.deepEqual(
        response.outputs.map((o) => o.name),
        ['total'],
      );
      assert.equal(response.raw_output_contents.length, 1);
      assertOutputsMatch(outputsAsJson(response), await referenceRun(MODELS['multi-io'][0], { a, b }, ['total']), {
        rtol: FLOAT_RTOL,
      });
    });

    it('passes INT64 past 2^53, BOOL and BYTES through exactly, as typed contents', async () => {
      const ids: JsonTensor = {
        dtype: 'int64',
        shape: [2, 4],
        data: ['9007199254740993', '-9223372036854775808', 42, '9223372036854775807', 1, -2, 3, '-4'],
      };
      const mask: JsonTensor = {
        dtype: 'bool',
        shape: [2, 4],
        data: [true, true, false, true, false, true, true, false],
      };
      const int64Bool = await admin.modelInfer({
        model_name: 'int64-bool',
        inputs: [
          { name: 'ids', datatype: 'INT64', shape: [2, 4], contents: { int64_contents: ids.data.map(String) } },
          { name: 'mask', datatype: 'BOOL', shape: [2, 4], contents: { bool_contents: mask.data } },
        ],
      });
      assertOutputsMatch(outputsAsJson(int64Bool.response), await referenceRun(MODELS['int64-bool'][0], { ids, mask }));

      const s: JsonTensor = { dtype: 'string', shape: [3], data: ['hello', '', 'héllo wörld 🙂'] };
      const strings = await admin.modelInfer({
        model_name: 'strings',
        inputs: [
          {
            name: 's',
            datatype: 'BYTES',
            shape: [3],
            contents: { bytes_contents: s.data.map((v) => Buffer.from(String(v))) },
          },
        ],
      });
      assert.equal(strings.response.outputs[0].datatype, 'BYTES');
      assertOutputsMatch(outputsAsJson(strings.response), await referenceRun(MODELS.strings[0], { s }));
    });

    it('reads FP64, INT32, UINT8 and INT8 raw contents exactly', async () => {
      const inputs: Record<string, JsonTensor> = {
        f64: { dtype: 'float64', shape: [4], data: [0.1, -1e300, Math.PI, 5e-324] },
        i32: { dtype: 'int32', shape: [4], data: [-2147483648, 2147483647, 0, 7] },
        u8: { dtype: 'uint8', shape: [4], data: [0, 255, 1, 128] },
        i8: { dtype: 'int8', shape: [4], data: [-128, 127, 0, -1] },
      };
      const datatypes = { f64: 'FP64', i32: 'INT32', u8: 'UINT8', i8: 'INT8' } as const;
      const names = Object.keys(datatypes) as Array<keyof typeof datatypes>;
      const { response } = await admin.modelInfer({
        model_name: 'dtypes',
        inputs: names.map((name) => ({ name, datatype: datatypes[name], shape: [4] })),
        raw_input_contents: names.map((name) => bytesOf(datatypes[name], inputs[name].data as number[])),
      });
      assertOutputsMatch(outputsAsJson(response), await referenceRun(MODELS.dtypes[0], inputs));
    });

    it('answers repeated requests from the cache (x-cache), unless cache-control: no-cache', async () => {
      const request = mlpRaw({ model_version: '1' });
      const first = await admin.modelInfer(request, { metadata: { 'cache-control': 'no-cache' } });
      assert.deepEqual(first.trailers.get('x-cache'), ['BYPASS']);
      await admin.modelInfer(request);
      const again = await admin.modelInfer(request);
      assert.deepEqual(again.trailers.get('x-cache'), ['HIT']);
      assert.deepEqual(again.response.raw_output_contents, first.response.raw_output_contents);
    });
  });

  describe('credentials', () => {
    it('answers UNAUTHENTICATED without a credential, with an unknown or a malformed one', async () => {
      await failsWith(anonymous.modelInfer(mlpRaw()), GrpcStatus.UNAUTHENTICATED, /Missing credentials/);
      await failsWith(anonymous.modelMetadata({ name: 'mlp' }), GrpcStatus.UNAUTHENTICATED, /Missing credentials/);
      await failsWith(
        client(`${predictor.key.slice(0, -1)}${predictor.key.endsWith('A') ? 'B' : 'A'}`).modelReady({ name: 'mlp' }),
        GrpcStatus.UNAUTHENTICATED,
        /Invalid credentials/,
      );
      await failsWith(
        anonymous.modelInfer(mlpRaw(), { metadata: { authorization: 'Basic dXNlcjpwYXNz' } }),
        GrpcStatus.UNAUTHENTICATED,
        /Malformed credentials/,
      );
    });

    it('takes the key from x-api-key as REST does', async () => {
      const { response } = await anonymous.modelInfer(mlpRaw(), { metadata: { 'x-api-key': predictor.key } });
      assert.equal(response.model_name, 'mlp');
    });

    it('answers PERMISSION_DENIED to a role that may not infer, and for a model outside the key scope', async () => {
      await failsWith(client(viewer.key).modelInfer(mlpRaw()), GrpcStatus.PERMISSION_DENIED, /role viewer/);
      await failsWith(client(scoped.key).modelInfer(mlpRaw()), GrpcStatus.PERMISSION_DENIED, /'mlp'/);
      await failsWith(client(scoped.key).modelMetadata({ name: 'mlp' }), GrpcStatus.PERMISSION_DENIED, /'mlp'/);
      // In scope but absent: not found, as over REST.
      await failsWith(client(scoped.key).modelReady({ name: 'multi-none' }), GrpcStatus.NOT_FOUND, /multi-none/);
    });

    it('applies the per-credential rate limit: RESOURCE_EXHAUSTED with retry-after once it is spent', async () => {
      const limited = await createKey(t.baseUrl!, t.adminKey, {
        name: 'grpc-limited',
        role: 'predictor',
        rateLimitPerMinute: 1,
      });
      const first = await client(limited.key).modelInfer(mlpRaw());
      assert.deepEqual(first.trailers.get('ratelimit-limit'), ['1']);
      assert.deepEqual(first.trailers.get('ratelimit-remaining'), ['0']);
      const refused = await failsWith(
        client(limited.key).modelInfer(mlpRaw()),
        GrpcStatus.RESOURCE_EXHAUSTED,
        /Rate limit/,
      );
      assert.match(String(refused.metadata.get('retry-after')[0]), /^\d+$/);
    });
  });

  describe('bad requests', () => {
    it('answers INVALID_ARGUMENT naming the tensor for raw contents of the wrong size', async () => {
      await failsWith(
        admin.modelInfer(mlpRaw({ raw_input_contents: [Buffer.alloc(12)] })),
        GrpcStatus.INVALID_ARGUMENT,
        /input 'x' has 12 bytes of raw data, but shape \[2, 4\] x FP32 needs 32 bytes/,
      );
    });

    it('answers INVALID_ARGUMENT for contents and raw together, a raw count unlike the inputs, and FP16 as contents', async () => {
      await failsWith(
        admin.modelInfer({ ...mlpTyped(), raw_input_contents: [bytesOf('FP32', MLP_X.data as number[])] }),
        GrpcStatus.INVALID_ARGUMENT,
        /input 'x' has contents while raw_input_contents is set/,
      );
      await failsWith(
        admin.modelInfer(mlpRaw({ raw_input_contents: [Buffer.alloc(32), Buffer.alloc(32)] })),
        GrpcStatus.INVALID_ARGUMENT,
        /raw_input_contents has 2 entries for 1 inputs/,
      );
      await failsWith(
        admin.modelInfer(mlpTyped({ inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 4], contents: {} }] })),
        GrpcStatus.INVALID_ARGUMENT,
        /input 'x' is FP16, which has no contents field/,
      );
    });

    it('answers INVALID_ARGUMENT for a datatype the model does not take, an unknown output and no model name', async () => {
      await failsWith(
        admin.modelInfer({
          model_name: 'mlp',
          inputs: [{ name: 'x', datatype: 'FP64', shape: [2, 4] }],
          raw_input_contents: [bytesOf('FP64', MLP_X.data as number[])],
        }),
        GrpcStatus.INVALID_ARGUMENT,
        /'x'/,
      );
      await failsWith(
        admin.modelInfer(mlpRaw({ outputs: [{ name: 'no_such_output' }] })),
        GrpcStatus.INVALID_ARGUMENT,
        /no_such_output/,
      );
      await failsWith(admin.modelInfer(mlpRaw({ model_name: '' })), GrpcStatus.INVALID_ARGUMENT, /model_name/);
    });

    it('answers NOT_FOUND for an unknown model or version', async () => {
      await failsWith(admin.modelInfer(mlpRaw({ model_name: 'no-such-model' })), GrpcStatus.NOT_FOUND, /no-such-model/);
      await failsWith(admin.modelInfer(mlpRaw({ model_version: '9' })), GrpcStatus.NOT_FOUND, /9/);
    });

    it('answers RESOURCE_EXHAUSTED for a message over MAX_JSON_BODY_BYTES (inflated), the limit of REST infer bodies', async () => {
      const rows = MAX_BODY_BYTES / 16 + 1;
      await failsWith(
        admin.modelInfer(
          mlpRaw({
            inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 4] }],
            raw_input_contents: [Buffer.alloc(rows * 16)],
          }),
        ),
        GrpcStatus.RESOURCE_EXHAUSTED,
      );
      // A gzip message small on the wire is measured inflated.
      const gzip = client(t.adminKey, { 'grpc.default_compression_algorithm': compressionAlgorithms.gzip });
      await failsWith(
        gzip.modelInfer(
          mlpRaw({
            inputs: [{ name: 'x', datatype: 'FP32', shape: [rows * 4, 4] }],
            raw_input_contents: [Buffer.alloc(rows * 64)],
          }),
        ),
        GrpcStatus.RESOURCE_EXHAUSTED,
        /decompresses to a size larger than 65536/,
      );
      assert.deepEqual((await gzip.modelInfer(mlpRaw())).response.model_name, 'mlp', 'small gzip messages are read');
      assert.deepEqual((await admin.serverLive()).response, { live: true }, 'the server serves on');
    });
  });
});

describe('Open Inference Protocol over gRPC: deadlines, auth off and shutdown', () => {
  it('answers DEADLINE_EXCEEDED when a run passes INFERENCE_TIMEOUT_MS', async () => {
    // The gate holds the run for as long as it takes; the deadline only has to leave a busy machine
    // time to hand the request to the idle process (100 ms once expired it still queued: "did not start").
    const { t, address } = await startGrpcApp({ INFERENCE_TIMEOUT_MS: '2000', CACHE_DEFAULT_ENABLED: 'false' });
    const grpc = new OipGrpcClient(address, t.adminKey);
    const sha256 = await upload(t, { mlp: [mlpModel()] });
    const gate = await holdModelLoads(t, sha256.mlp);
    try {
      await failsWith(grpc.modelInfer(mlpRaw()), GrpcStatus.DEADLINE_EXCEEDED, /INFERENCE_TIMEOUT_MS/);
    } finally {
      gate.release();
      grpc.close();
      await t.close();
    }
  });

  it('holds a message against MAX_INFLIGHT_BODY_BYTES until it is answered: UNAVAILABLE past it, all of it back after', async () => {
    const { t, address } = await startGrpcApp({ MAX_INFLIGHT_BODY_BYTES: '1024', CACHE_DEFAULT_ENABLED: 'false' });
    const grpc = new OipGrpcClient(address, t.adminKey);
    const budget = t.app.get(BodyBudget);
    const rows = (n: number) =>
      mlpRaw({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [n, 4] }],
        raw_input_contents: [bytesOf('FP32', new Array<number>(n * 4).fill(0.5))],
      });
    const sha256 = await upload(t, { mlp: [mlpModel()] });
    const gate = await holdModelLoads(t, sha256.mlp);
    try {
      const held = track(grpc.modelInfer(rows(48))); // 768 bytes of the 1024
      await waitFor(() => budget.inUse === 768, { what: 'the held call to reserve its bytes' });
      await failsWith(grpc.modelInfer(rows(32)), GrpcStatus.UNAVAILABLE, /MAX_INFLIGHT_BODY_BYTES/);
      gate.release();
      await held.promise;
      assert.equal(budget.inUse, 0, 'an answered call gives its bytes back');
      await grpc.modelInfer(rows(32));
      assert.equal(budget.inUse, 0);
    } finally {
      gate.release();
      grpc.close();
      await t.close();
    }
  });

  it('serves without credentials when AUTH_ENABLED=false; on shutdown answers not ready, lets a call in flight finish and closes', async () => {
    const { t, address } = await startGrpcApp({ AUTH_ENABLED: 'false', CACHE_DEFAULT_ENABLED: 'false' });
    const grpc = new OipGrpcClient(address);
    const probe = new OipGrpcClient(address);
    let closing: ReturnType<typeof track<void>> | undefined;
    const sha256 = await upload(t, { mlp: [mlpModel()] });
    const gate = await holdModelLoads(t, sha256.mlp);
    try {
      const inFlight = track(grpc.modelInfer(mlpRaw()));
      await waitFor(() => t.app.get(InferenceService).status().inFlight === 1, {
        what: 'the call to reach the engine',
      });
      // What main.ts does on SIGTERM: readiness turns false at once, then the application closes.
      t.app.get(ShutdownState).begin();
      assert.deepEqual((await probe.serverReady()).response, { ready: false });
      assert.deepEqual((await probe.modelReady({ name: 'mlp' })).response, { ready: false });
      closing = track(t.close());
      await waitFor(
        () =>
          probe.serverLive().then(
            () => false,
            (error: ServiceError) => error.code === GrpcStatus.UNAVAILABLE,
          ),
        { what: 'the gRPC server to stop taking calls' },
      );
      assert.equal(inFlight.settled, false, 'the call in flight is still held');
      assert.equal(closing.settled, false, 'closing waits for it');
      gate.release();
      const { response } = await inFlight.promise;
      assert.equal(response.model_name, 'mlp');
      await closing.promise;
    } finally {
      gate.release();
      grpc.close();
      probe.close();
      if (!closing) await t.close();
    }
  });

  it('cancels a call still in flight once SHUTDOWN_GRACE_MS has passed, and closes', async () => {
    const { t, address } = await startGrpcApp({ SHUTDOWN_GRACE_MS: '200', CACHE_DEFAULT_ENABLED: 'false' });
    const grpc = new OipGrpcClient(address, t.adminKey);
    const sha256 = await upload(t, { mlp: [mlpModel()] });
    const gate = await holdModelLoads(t, sha256.mlp);
    let closing: Promise<void> | undefined;
    try {
      const inFlight = grpc.modelInfer(mlpRaw());
      await waitFor(() => t.app.get(InferenceService).status().inFlight === 1, {
        what: 'the call to reach the engine',
      });
      closing = t.close();
      // The run is still held: the server gives up on it, and the client learns so.
      await failsWith(inFlight, GrpcStatus.CANCELLED);
    } finally {
      gate.release();
      grpc.close();
      await (closing ?? t.close());
    }
  });

  it('refuses to start when GRPC_PORT is taken, saying which setting to change', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const service = await spawnService({ GRPC_PORT: String((taken.address() as net.AddressInfo).port) }, false);
    try {
      assert.equal((await service.exited).code, 1);
      assert.match(
        service.stderr(),
        /gRPC cannot listen on 127\.0\.0\.1:\d+ \(GRPC_PORT; 0 turns gRPC off\).*EADDRINUSE/,
      );
    } finally {
      await service.stop();
      taken.close();
    }
  });
});

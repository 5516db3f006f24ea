import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKey } from '../support/audit-helpers';
import { assertOipError, caseNamed } from '../support/oip-cases';
import { HEADER_LENGTH, InferAnswer, infer, modelMetadata, modelReady, OipTensor, send } from '../support/oip-client';
import { bytesOf, encodeInferBody } from '../support/oip-wire';
import { InferenceService } from '../../src/inference/inference.service';
import { HANG_TRIP_COUNT, hangModel } from '../support/fault-models';
import { DataType, identityModel } from '../support/onnx-models';
import { httpOf, modelWithVersion } from '../support/prediction-cache-helpers';
import { bearer, startTestApp, TestApp } from '../support/test-app';
import { track, waitFor } from '../support/wait-for';

/**
 * Bad requests to the Open Inference Protocol's REST infer: each is a 4xx in the protocol's own
 * body, exactly `{"error": "..."}`, naming the tensor at fault; never a 500, never a read past the
 * body. Then credentials: 401 without one, 403 for a viewer and for a key scoped to other models.
 */

/** Small, so that a body past it is cheap to send. */
const MAX_BODY_BYTES = 64 * 1024;

/** Tensor names no error message contains by chance. */
const PIXELS = 'identity-f32';
const CAPTIONS = 'identity-bytes';
const pixelsModel = identityModel(DataType.FLOAT, { inputName: 'pixels', outputName: 'scores', dims: ['N', 4] });
const captionsModel = identityModel(DataType.STRING, { inputName: 'captions', outputName: 'echoed' });

const f32 = (values: number[]) => bytesOf('FP32', values);
const pixels = (extra: Record<string, unknown> = {}) => ({
  name: 'pixels',
  datatype: 'FP32',
  shape: [1, 4],
  ...extra,
});

describe('Open Inference Protocol over REST: bad input and credentials', () => {
  let t: TestApp;
  let base: string;
  const http = httpOf(() => t);
  const admin = () => ({ Authorization: bearer(t.adminKey) });

  /** A binary infer request framed by hand: `header` then `tail`, with the given header length. */
  function framed(
    model: string,
    header: object,
    tail: Buffer[],
    options: { headerLength?: string; headers?: Record<string, string> } = {},
  ): Promise<InferAnswer> {
    const { body, headerLength } = encodeInferBody(header, tail);
    return send(base, {
      path: `/v2/models/${model}/infer`,
      headers: { ...admin(), [HEADER_LENGTH]: options.headerLength ?? String(headerLength), ...options.headers },
      body,
    });
  }

  /** A JSON infer request, sent as the given text. */
  function json(model: string, body: string | object): Promise<InferAnswer> {
    return send(base, {
      path: `/v2/models/${model}/infer`,
      headers: { ...admin(), 'Content-Type': 'application/json' },
      body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    });
  }

  before(async () => {
    t = await startTestApp('sqlite', {
      listen: true,
      env: { SHUTDOWN_GRACE_MS: '1000', MAX_JSON_BODY_BYTES: String(MAX_BODY_BYTES) },
    });
    base = t.baseUrl ?? '';
    await modelWithVersion(http, PIXELS, pixelsModel);
    await modelWithVersion(http, CAPTIONS, captionsModel);
    await modelWithVersion(http, 'int64-bool', caseNamed('int64-bool').bytes);
  });
  after(async () => {
    await t?.close();
  });

  it('control: the well-formed binary request these cases spoil answers 200', async () => {
    const answer = await framed(PIXELS, { inputs: [pixels({ parameters: { binary_data_size: 16 } })] }, [
      f32([1, 2, 3, 4]),
    ]);
    assert.equal(answer.status, 200, JSON.stringify(answer.header));
    assert.deepEqual(answer.outputs.get('scores')?.values, [1, 2, 3, 4]);
  });

  describe('framing of the binary extension', () => {
    const header = { inputs: [pixels({ parameters: { binary_data_size: 16 } })] };
    const tail = [f32([1, 2, 3, 4])];

    it('a header length longer than the body is a 400 naming the header', async () => {
      const { body } = encodeInferBody(header, tail);
      const answer = await framed(PIXELS, header, tail, { headerLength: String(body.length + 1) });
      assertOipError(answer, 400, HEADER_LENGTH);
    });

    for (const value of ['abc', '-5', '1.5', '99999999999999999999']) {
      it(`a header length of ${JSON.stringify(value)} is a 400 naming the header`, async () => {
        assertOipError(await framed(PIXELS, header, tail, { headerLength: value }), 400, HEADER_LENGTH);
      });
    }

    it('a header length that cuts the JSON header short is a 400', async () => {
      assertOipError(await framed(PIXELS, header, tail, { headerLength: '10' }), 400);
    });

    it('a binary_data_size that does not match shape x datatype is a 400 naming the tensor', async () => {
      const short = { inputs: [pixels({ parameters: { binary_data_size: 12 } })] };
      assertOipError(await framed(PIXELS, short, [f32([1, 2, 3])]), 400, 'pixels');
    });

    it('sizes that overflow are a 400 naming the tensor', async () => {
      const huge = { inputs: [pixels({ parameters: { binary_data_size: 2 ** 64 } })] };
      assertOipError(await framed(PIXELS, huge, tail), 400, 'pixels');
      const wide = { inputs: [pixels({ shape: [2 ** 32, 2 ** 32], parameters: { binary_data_size: 16 } })] };
      assertOipError(await framed(PIXELS, wide, tail), 400, 'pixels');
      const unsafe = { inputs: [pixels({ shape: [2 ** 53 + 2, 4], parameters: { binary_data_size: 16 } })] };
      assertOipError(await framed(PIXELS, unsafe, tail), 400, 'pixels');
      const negativeSize = { inputs: [pixels({ parameters: { binary_data_size: -16 } })] };
      assertOipError(await framed(PIXELS, negativeSize, tail), 400, 'pixels');
    });

    it('data and binary_data_size both given is a 400 naming the tensor', async () => {
      const both = { inputs: [pixels({ data: [1, 2, 3, 4], parameters: { binary_data_size: 16 } })] };
      assertOipError(await framed(PIXELS, both, tail), 400, 'pixels');
    });

    it('a body cut short of the binary tensors is a 400 naming the tensor that runs past it', async () => {
      const header2 = {
        inputs: [
          { name: 'ids', datatype: 'INT64', shape: [1, 4], parameters: { binary_data_size: 32 } },
          { name: 'mask', datatype: 'BOOL', shape: [1, 4], parameters: { binary_data_size: 4 } },
        ],
      };
      const ids = bytesOf('INT64', [1n, 2n, 3n, 4n]);
      assertOipError(await framed('int64-bool', header2, [ids, Buffer.from([1, 0])]), 400, 'mask');
      assertOipError(await framed('int64-bool', header2, [ids.subarray(0, 20)]), 400, 'ids');
    });

    it('BYTES elements whose length prefix runs past the end are a 400 naming the tensor', async () => {
      const element = Buffer.alloc(8);
      element.writeUInt32LE(100, 0);
      const past = {
        inputs: [{ name: 'captions', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 8 } }],
      };
      assertOipError(await framed(CAPTIONS, past, [element]), 400, 'captions');
      const huge = Buffer.alloc(8);
      huge.writeUInt32LE(0xffffffff, 0);
      assertOipError(await framed(CAPTIONS, past, [huge]), 400, 'captions');
      const partialPrefix = {
        inputs: [{ name: 'captions', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 2 } }],
      };
      assertOipError(await framed(CAPTIONS, partialPrefix, [Buffer.from([1, 0])]), 400, 'captions');
    });

    it('BYTES elements fewer or more than the shape says are a 400 naming the tensor', async () => {
      const two = bytesOf('BYTES', ['a', 'b']);
      const asThree = {
        inputs: [{ name: 'captions', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: two.length } }],
      };
      assertOipError(await framed(CAPTIONS, asThree, [two]), 400, 'captions');
      const asOne = {
        inputs: [{ name: 'captions', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: two.length } }],
      };
      assertOipError(await framed(CAPTIONS, asOne, [two]), 400, 'captions');
    });
  });

  describe('the JSON header', () => {
    it('malformed JSON, a body without inputs and inputs that are not a list are 400s', async () => {
      assertOipError(await json(PIXELS, '{"inputs": [{"name": "pixels"'), 400);
      assertOipError(await json(PIXELS, {}), 400, 'inputs');
      assertOipError(await json(PIXELS, { inputs: { pixels: [1, 2, 3, 4] } }), 400, 'inputs');
    });

    it('a negative, missing or fractional shape is a 400 naming the tensor', async () => {
      for (const shape of [[-1, 4], undefined, [1.5, 4], ['1', '4']]) {
        const answer = await json(PIXELS, { inputs: [pixels({ shape, data: [1, 2, 3, 4] })] });
        assertOipError(answer, 400, 'pixels');
      }
    });

    it('a datatype not matching the model, or not a datatype at all, is a 400 naming the tensor', async () => {
      for (const datatype of ['INT32', 'FP64', 'FP8', 'float32', undefined]) {
        const answer = await json(PIXELS, { inputs: [pixels({ datatype, data: [1, 2, 3, 4] })] });
        assertOipError(answer, 400, 'pixels');
      }
      const binary = await framed(
        PIXELS,
        { inputs: [pixels({ datatype: 'INT32', parameters: { binary_data_size: 16 } })] },
        [bytesOf('INT32', [1, 2, 3, 4])],
      );
      assertOipError(binary, 400, 'pixels');
    });

    it('data whose count does not match the shape, or of the wrong kind, is a 400 naming the tensor', async () => {
      for (const data of [
        [1, 2, 3],
        [1, 2, 3, 4, 5],
        [1, 'two', 3, 4],
        [[1, 2], [3]],
        [true, false, true, false],
      ]) {
        assertOipError(await json(PIXELS, { inputs: [pixels({ data })] }), 400, 'pixels');
      }
    });

    it('an input without data or binary_data_size is a 400 naming the tensor', async () => {
      assertOipError(await json(PIXELS, { inputs: [pixels()] }), 400, 'pixels');
    });

    it('an unknown input name, or a missing input, is a 400 naming it', async () => {
      const unknown = {
        inputs: [pixels({ data: [1, 2, 3, 4] }), { name: 'bogus', datatype: 'FP32', shape: [1], data: [1] }],
      };
      assertOipError(await json(PIXELS, unknown), 400, 'bogus');
      const missing = { inputs: [{ name: 'ids', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }] };
      assertOipError(await json('int64-bool', missing), 400, 'mask');
    });

    it('an unknown output name is a 400 naming it', async () => {
      const body = { inputs: [pixels({ data: [1, 2, 3, 4] })], outputs: [{ name: 'no-such-output' }] };
      assertOipError(await json(PIXELS, body), 400, 'no-such-output');
    });

    it('a body larger than the limit is a 413, JSON or binary', async () => {
      const rows = MAX_BODY_BYTES / 16 + 1;
      const values = Array.from({ length: rows * 4 }, (_, i) => i);
      const big = { name: 'pixels', datatype: 'FP32' as const, shape: [rows, 4], data: values };
      for (const binaryInputs of [false, true]) {
        const answer = await infer(base, PIXELS, { inputs: [big], binaryInputs, headers: admin() });
        assertOipError(answer, 413);
      }
    });
  });

  describe('models, versions and credentials', () => {
    const good = { inputs: [pixels({ data: [1, 2, 3, 4] })] };
    const tensor: OipTensor = { name: 'pixels', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] };
    const goodInfer = (headers: Record<string, string>, version?: string) =>
      infer(base, PIXELS, { version, inputs: [tensor], headers });

    it('an unknown model or version is a 404 naming it', async () => {
      assertOipError(await json('no-such-model', good), 404, 'no-such-model');
      assertOipError(await goodInfer(admin(), '42'), 404, '42');
    });

    it('no credential or an invalid one is a 401 {error} with WWW-Authenticate, on infer, metadata and ready', async () => {
      for (const headers of [{}, { Authorization: 'Bearer not-a-key' }] as Record<string, string>[]) {
        const answer = await goodInfer(headers);
        assertOipError(answer, 401);
        assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer/);
        const metadata = await modelMetadata(base, PIXELS, undefined, headers);
        assertOipError(metadata, 401);
        assert.equal((await modelReady(base, PIXELS, undefined, headers)).status, 401);
      }
    });

    it('a viewer may not infer (403); a predictor may', async () => {
      const viewer = await createKey(t, { name: 'oip-errors-viewer', role: 'viewer' });
      assertOipError(await goodInfer({ Authorization: bearer(viewer.key) }), 403);
      const predictor = await createKey(t, { name: 'oip-errors-predictor', role: 'predictor' });
      assert.equal((await goodInfer({ Authorization: bearer(predictor.key) })).status, 200);
    });

    it('past its rate limit a key gets 429 {error} with Retry-After', async () => {
      const limited = await createKey(t, { name: 'oip-limited', role: 'predictor', rateLimitPerMinute: 1 });
      const as = { Authorization: bearer(limited.key) };
      assert.equal((await goodInfer(as)).status, 200);
      const refused = await goodInfer(as);
      assertOipError(refused, 429);
      assert.match(refused.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
    });

    it('a key scoped to other models gets 403 naming the model; in scope it infers', async () => {
      const scoped = await createKey(t, { name: 'oip-scoped', role: 'predictor', models: ['identity-f*'] });
      const as = { Authorization: bearer(scoped.key) };
      assert.equal((await goodInfer(as)).status, 200);
      const outside = await infer(base, CAPTIONS, {
        inputs: [{ name: 'captions', datatype: 'BYTES', shape: [1], data: ['x'] }],
        headers: as,
      });
      assertOipError(outside, 403, CAPTIONS);
      const metadata = await modelMetadata(base, CAPTIONS, undefined, as);
      assertOipError(metadata, 403, CAPTIONS);
    });
  });
});

describe('Open Inference Protocol over REST: engine limits', () => {
  let t: TestApp;
  let base: string;
  const http = httpOf(() => t);
  const TIMEOUT_MS = 1500;
  /** A trip count the hang model loops for years on, and one it answers at once with. */
  const hangInfer = (trips: bigint) =>
    infer(base, 'hang', {
      inputs: [
        { name: 'n', datatype: 'INT64', shape: [], data: [trips] },
        { name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
      ],
      binaryInputs: true,
      headers: { Authorization: bearer(t.adminKey) },
    });

  before(async () => {
    t = await startTestApp('sqlite', {
      listen: true,
      env: {
        SHUTDOWN_GRACE_MS: '1000',
        CACHE_DEFAULT_ENABLED: 'false',
        INFERENCE_WORKERS: '1',
        INFERENCE_MAX_QUEUE: '1',
        INFERENCE_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
    base = t.baseUrl ?? '';
    await modelWithVersion(http, 'hang', hangModel());
  });
  after(async () => {
    await t?.close();
  });

  it('a full queue is a 429 {error} with Retry-After; a run past its deadline is a 504 {error}', async () => {
    assert.equal((await hangInfer(0n)).status, 200);
    const hung = track(hangInfer(BigInt(HANG_TRIP_COUNT)));
    const engine = t.app.get(InferenceService);
    await waitFor(() => engine.status().queueDepth.hang === 1, { what: 'the hung infer to take the slot' });
    const refused = await hangInfer(0n);
    assert.equal(hung.settled, false, 'the slot was still held when the second infer was refused');
    assertOipError(refused, 429);
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
    assertOipError(await hung.promise, 504);
  });
});

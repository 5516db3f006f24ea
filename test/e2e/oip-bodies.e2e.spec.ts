import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { mlpModel } from '../support/onnx-models';
import { encodeInferBody, valuesOf } from '../support/oip-wire';
import { authed, startTestApp, TestApp } from '../support/test-app';

const MAX_JSON_BODY_BYTES = 64 * 1024;

/**
 * How /v2 infer routes read a body, beyond its JSON: whatever the Content-Type (clients send none,
 * or their library's default), compressed with gzip or deflate (Triton's clients compress on
 * request), with MAX_JSON_BODY_BYTES counting the inflated bytes so a small bomb stops at the limit.
 */
describe('Open Inference Protocol: request bodies', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp('sqlite', {
      listen: true,
      env: { MAX_JSON_BODY_BYTES: String(MAX_JSON_BODY_BYTES), CACHE_DEFAULT_ENABLED: 'false' },
    });
    await authed(t).post('/api/v1/models').send({ name: 'mlp' }).expect(201);
    await authed(t).post('/api/v1/models/mlp/versions').attach('file', mlpModel(), 'mlp.onnx').expect(201);
  });
  after(async () => {
    await t.close();
  });

  const post = (body: Uint8Array | string, headers: Record<string, string> = {}) =>
    fetch(`${t.baseUrl}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t.adminKey}`, ...headers },
      body,
    });

  const json = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });

  it('reads a JSON body whatever its Content-Type says, or with none', async () => {
    const answers: unknown[] = [];
    for (const type of [undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${t.baseUrl}/v2/models/mlp/infer`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${t.adminKey}`, ...(type ? { 'Content-Type': type } : {}) },
        // A Uint8Array body gets no Content-Type from fetch: the "none" case.
        body: new TextEncoder().encode(json),
      });
      assert.equal(res.status, 200, `${type ?? 'no Content-Type'}: ${await res.clone().text()}`);
      answers.push(((await res.json()) as { outputs: unknown }).outputs);
    }
    assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1, 'the same answer every time');
  });

  it('inflates gzip and deflate bodies, binary tensors included', async () => {
    const plain = (await (await post(json)).json()) as { outputs: { data: number[] }[] };
    for (const [encoding, squeeze] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
    ] as const) {
      const res = await post(squeeze(json), { 'Content-Encoding': encoding });
      assert.equal(res.status, 200, encoding);
      assert.deepEqual(((await res.json()) as typeof plain).outputs, plain.outputs, encoding);
    }
    const { body, headerLength } = encodeInferBody(
      {
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
      },
      [new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)],
    );
    const res = await post(gzipSync(body), {
      'Content-Encoding': 'gzip',
      'Inference-Header-Content-Length': String(headerLength),
    });
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const jsonLength = Number(res.headers.get('inference-header-content-length'));
    assert.deepEqual(valuesOf('FP32', bytes.subarray(jsonLength)), plain.outputs[0].data);
  });

  it('refuses a corrupt or truncated gzip body with 400, and an unknown encoding with 415', async () => {
    const squeezed = gzipSync(json);
    for (const broken of [squeezed.subarray(0, squeezed.length - 9), Buffer.from('not gzip at all')]) {
      const res = await post(broken, { 'Content-Encoding': 'gzip' });
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { error: 'The gzip body cannot be inflated: it is corrupt or truncated' });
    }
    const res = await post(json, { 'Content-Encoding': 'br' });
    assert.equal(res.status, 415);
    assert.match(((await res.json()) as { error: string }).error, /Content-Encoding 'br' is not accepted/);
  });

  it('stops a gzip bomb at MAX_JSON_BODY_BYTES of inflated bytes (413), then serves the next request', async () => {
    // 64 MiB of spaces squeeze into about 64 KiB; the limit is 64 KiB of inflated bytes.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '));
    assert.ok(bomb.length < MAX_JSON_BODY_BYTES * 2);
    const res = await post(bomb, { 'Content-Encoding': 'gzip' });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: string }).error, /MAX_JSON_BODY_BYTES/);
    assert.equal((await post(json)).status, 200);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inferResponseBody } from './oip-response';

describe('inferResponseBody', () => {
  it('passes parameters back as JSON, a BigInt one as its exact digits', () => {
    const body = inferResponseBody({
      modelName: 'm',
      modelVersion: '1',
      parameters: { seed: 2n ** 64n - 1n, tag: 'a', t: 0.5 },
      outputs: [],
      cache: 'BYPASS',
      stages: {},
    });
    assert.equal(
      Buffer.concat(body.chunks).toString(),
      '{"model_name":"m","model_version":"1","parameters":{"seed":18446744073709551615,"tag":"a","t":0.5},"outputs":[]}',
    );
  });
});

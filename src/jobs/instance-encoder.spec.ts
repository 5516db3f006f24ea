import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError, PayloadTooLargeError } from '../common/errors';
import type { TensorSpec } from '../inference/tensor-spec';
import { decodeInstance } from './instance-codec';
import { EncodeLimits, encodeInstances, storedInstances } from './instance-encoder';
import { fromArray, fromNdjsonBatch } from './submission-source';

const SPECS: TensorSpec[] = [
  { name: 'x', dtype: 'float32', shape: [-1, 2] },
  { name: 's', dtype: 'string', shape: [-1] },
];
const LIMITS: EncodeLimits = {
  maxInstances: 100,
  maxInstanceElements: 1000,
  maxDecodedBytes: 1_000_000,
  decodedBytesLeft: 1_000_000,
};

const ndjson = (...lines: unknown[]) => Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n'));

function rejects(fn: () => unknown, type: typeof InvalidInputError | typeof PayloadTooLargeError, message: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof type, String(error));
    assert.match((error as Error).message, message);
    return true;
  });
}

describe('encodeInstances', () => {
  it('encodes a batch into one buffer whose views decode back to the instances', () => {
    const batch = encodeInstances(
      fromArray([
        { inputs: { x: [[1, 2]], s: ['a'] } },
        {
          inputs: {
            x: [
              [3, 4],
              [5, 6],
            ],
            s: ['b', 'c'],
          },
        },
      ]),
      SPECS,
      LIMITS,
    );
    assert.equal(batch.data.byteLength, 8 + 16);
    assert.equal(batch.bytes, batch.headers.reduce((n, h) => n + Buffer.byteLength(h), 0) + 24);
    const back = [...storedInstances(batch)].map((stored) => decodeInstance(stored));
    assert.deepEqual([...back[1].x.data], [3, 4, 5, 6]);
    assert.deepEqual(back[1].x.dims, [2, 2]);
    assert.deepEqual(back[0].s.data, ['a']);
  });

  it('names the instance and its line in a 400, exactly as the service did', () => {
    const batch = ndjson({ inputs: { x: [[1, 2]], s: ['a'] } }, { inputs: { x: [[1, 2, 3]], s: ['a'] } });
    assert.throws(
      () => encodeInstances(fromNdjsonBatch(batch, 4, 9), SPECS, LIMITS),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        /^instances\[10\]\.inputs\.x has shape \[1, 3\].* \(line 5\)$/.test(error.message) &&
        error.details?.[0].field === 'instances[10].inputs.x',
    );
  });

  it('refuses an instance past JOBS_MAX_INSTANCE_ELEMENTS across its inputs with 413', () => {
    const inputs = { x: Array.from({ length: 5 }, () => [1, 2]), s: ['a', 'b'] };
    const limits = { ...LIMITS, maxInstanceElements: 11 };
    assert.equal(
      encodeInstances(fromArray([{ inputs }]), SPECS, { ...limits, maxInstanceElements: 12 }).headers.length,
      1,
    );
    rejects(
      () => encodeInstances(fromNdjsonBatch(ndjson({ inputs }), 1, 0), SPECS, limits),
      PayloadTooLargeError,
      /^instances\[0\]\.inputs\.s makes the instance exceed JOBS_MAX_INSTANCE_ELEMENTS \(11 elements\) \(line 1\)$/,
    );
  });

  it('refuses a batch past what is left of JOBS_MAX_DECODED_BYTES, or past JOBS_MAX_INSTANCES, with 413', () => {
    const instances = Array.from({ length: 10 }, () => ({ inputs: { x: [[1, 2]], s: [] } }));
    const { bytes } = encodeInstances(fromArray(instances), SPECS, LIMITS);
    assert.equal(encodeInstances(fromArray(instances), SPECS, { ...LIMITS, decodedBytesLeft: bytes }).bytes, bytes);
    rejects(
      () =>
        encodeInstances(fromArray(instances), SPECS, { ...LIMITS, maxDecodedBytes: 5000, decodedBytesLeft: bytes - 1 }),
      PayloadTooLargeError,
      /exceed JOBS_MAX_DECODED_BYTES \(5000 bytes\)/,
    );
    rejects(
      () => encodeInstances(fromNdjsonBatch(ndjson(...instances), 1, 95), SPECS, LIMITS),
      PayloadTooLargeError,
      /at most 100 instances \(JOBS_MAX_INSTANCES\)/,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STATUS_BY_KIND } from '../common/errors';
import { toSafeError } from '../common/safe-error';
import { OutputTooLargeError } from './engine-errors';
import type { TensorData } from './tensor';
import { checkOutputSize, encodeOutputs } from './tensor-encode';

/** Tensor data that fails the test if anything reads it: proves the cap comes before encoding. */
function untouchable(): TensorData['data'] {
  return new Proxy(new Float32Array(0), {
    get() {
      throw new Error('the output data was read');
    },
  });
}

function tooLarge(fn: () => unknown): OutputTooLargeError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof OutputTooLargeError, `expected an OutputTooLargeError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an OutputTooLargeError');
}

describe('the output cap (MAX_OUTPUT_ELEMENTS)', () => {
  it('refuses an output of 10^10 elements from its dims, before reading or serializing any data', () => {
    const outputs = { y: { dtype: 'float32' as const, dims: [100_000, 100_000], data: untouchable() } };
    const error = tooLarge(() => encodeOutputs(outputs, 8_000_000));
    assert.equal(STATUS_BY_KIND[error.kind], 422);
    assert.equal(
      error.message,
      "Output 'y' has shape [100000, 100000] (10000000000 elements), over MAX_OUTPUT_ELEMENTS (8000000); " +
        'ask for fewer outputs (outputs: [...]) or send smaller inputs',
    );
    assert.deepEqual(error.details, [
      {
        field: 'outputs.y',
        problem: 'has shape [100000, 100000] (10000000000 elements), over MAX_OUTPUT_ELEMENTS (8000000)',
      },
    ]);
    assert.deepEqual(toSafeError(error, 'request id r'), { kind: 'output_too_large', message: error.message });
  });

  it('counts the outputs asked for together and names the one that crosses the cap', () => {
    const outputs = {
      a: { dims: [10, 10] },
      b: { dims: [5, 5] },
      c: { dims: [1] },
    };
    checkOutputSize(outputs, 126);
    const error = tooLarge(() => checkOutputSize(outputs, 124));
    assert.equal(error.details?.[0].field, 'outputs.b');
    assert.equal(
      error.details?.[0].problem,
      'has shape [5, 5] (25 elements), 125 with the other outputs asked for, over MAX_OUTPUT_ELEMENTS (124)',
    );
  });

  it('bounds the name and shape it reports', () => {
    const error = tooLarge(() => checkOutputSize({ ['o'.repeat(1000)]: { dims: new Array(40).fill(2) } }, 1));
    assert.ok(error.message.length < 300, error.message);
    assert.match(error.message, /\(rank 40\)/);
  });

  it('encodes outputs within the cap as before', () => {
    const json = encodeOutputs({ y: { dtype: 'float32', dims: [1, 2], data: new Float32Array([1, 2]) } }, 2);
    assert.equal(json, '{"y":{"dtype":"float32","shape":[1,2],"data":[1,2]}}');
  });
});

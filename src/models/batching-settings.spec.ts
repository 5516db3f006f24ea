import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../common/errors';
import { assertVersionsBatch, BATCHING_DEFAULTS, BatchingSettings, mergeBatching } from './batching-settings';
import type { TensorSpec } from '../inference/tensor-spec';

const current: BatchingSettings = { enabled: false, maxBatchSize: 16, maxQueueDelayMs: 5, preferredBatchSizes: [4, 8] };
const f32 = (name: string, shape: number[]): TensorSpec => ({ name, dtype: 'float32', shape });
const version = (n: number, input: TensorSpec, status: 'ready' | 'failed' | 'archived' = 'ready') => ({
  version: n,
  status,
  inputs: [input],
  outputs: [f32('y', [-1, 3])],
});

describe('mergeBatching', () => {
  it('replaces the fields given, keeps the others and sorts the preferred sizes', () => {
    assert.deepEqual(mergeBatching(current, { enabled: true }), { ...current, enabled: true });
    assert.deepEqual(mergeBatching(current, { maxQueueDelayMs: 0, preferredBatchSizes: [12, 2, 16] }), {
      ...current,
      maxQueueDelayMs: 0,
      preferredBatchSizes: [2, 12, 16],
    });
    assert.deepEqual(mergeBatching(current, { preferredBatchSizes: [] }).preferredBatchSizes, []);
  });

  it('refuses preferred sizes above the resulting maxBatchSize, sent or kept', () => {
    assert.throws(
      () => mergeBatching(current, { preferredBatchSizes: [4, 32] }),
      (error: InvalidInputError) =>
        error instanceof InvalidInputError &&
        /preferredBatchSizes 32 exceeds maxBatchSize 16/.test(error.message) &&
        error.details?.[0].field === 'batching.preferredBatchSizes',
    );
    assert.throws(() => mergeBatching(current, { maxBatchSize: 6 }), /preferredBatchSizes 8 exceeds maxBatchSize 6/);
    assert.deepEqual(mergeBatching(current, { maxBatchSize: 6, preferredBatchSizes: [6] }).preferredBatchSizes, [6]);
  });

  it('leaves its inputs alone', () => {
    const defaults = { ...BATCHING_DEFAULTS, preferredBatchSizes: [...BATCHING_DEFAULTS.preferredBatchSizes] };
    mergeBatching(defaults, { enabled: true, preferredBatchSizes: [2] });
    assert.deepEqual(defaults.preferredBatchSizes, []);
  });
});

describe('assertVersionsBatch', () => {
  it('accepts a model without versions or whose versions all batch', () => {
    assert.doesNotThrow(() => assertVersionsBatch('m', []));
    assert.doesNotThrow(() => assertVersionsBatch('m', [version(1, f32('x', [-1, 4]))]));
  });

  it('names every version that cannot batch with its tensor, skipping failed versions', () => {
    const versions = [
      version(3, f32('s', [])),
      version(1, f32('x', [-1, 4])),
      version(2, f32('x', [1, 4])),
      version(4, f32('x', [2, 4]), 'failed'),
    ];
    assert.throws(
      () => assertVersionsBatch('m', versions),
      (error: InvalidInputError) => {
        assert.ok(error instanceof InvalidInputError);
        assert.match(error.message, /^Batching cannot be enabled for 'm': version 2: input 'x' has the fixed first/);
        assert.match(error.message, /and 1 more version/);
        assert.deepEqual(error.details, [
          { field: 'batching.enabled', problem: "version 2: input 'x' has the fixed first dimension 1 (shape [1, 4])" },
          {
            field: 'batching.enabled',
            problem: "version 3: input 's' has no first dimension (rank 0 or no declared shape)",
          },
        ]);
        return true;
      },
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorDtype } from '../inference/tensor-spec';
import {
  AGREEMENT_TOLERANCE,
  ComparableTensor,
  comparableFromJson,
  compareOutputs,
  INCOMPARABLE_DIFF,
  isClassifierShaped,
  maxRelativeDifference,
} from './shadow-agreement';

const tensor = (dims: number[], values: ComparableTensor['values'], dtype: TensorDtype = 'float32') => ({
  dtype,
  dims,
  values,
});
const outputs = (entries: Record<string, ComparableTensor>) => new Map(Object.entries(entries));

describe('shadow agreement', () => {
  it('calls float outputs with a last dimension above 1 classifier-shaped, and nothing else', () => {
    assert.equal(isClassifierShaped({ dtype: 'float32', dims: [4, 3] }), true);
    assert.equal(isClassifierShaped({ dtype: 'float64', dims: [3] }), true);
    assert.equal(isClassifierShaped({ dtype: 'float32', dims: [4, 1] }), false);
    assert.equal(isClassifierShaped({ dtype: 'int64', dims: [4, 3] }), false);
    assert.equal(isClassifierShaped({ dtype: 'float32', dims: [] }), false);
  });

  it('classifier-shaped outputs agree when every row has the same argmax, however far the scores moved', () => {
    const served = outputs({ p: tensor([2, 3], [0.1, 0.7, 0.2, 0.5, 0.3, 0.2]) });
    const moved = outputs({ p: tensor([2, 3], [0.2, 0.5, 0.3, 0.9, 0.05, 0.05]) });
    const result = compareOutputs(served, moved);
    assert.equal(result.agrees, true);
    assert.ok(result.maxRelDiff !== null && result.maxRelDiff > 0.4, String(result.maxRelDiff));
    const flipped = outputs({ p: tensor([2, 3], [0.1, 0.7, 0.2, 0.2, 0.3, 0.5]) });
    assert.equal(compareOutputs(served, flipped).agrees, false, 'the second row changed class');
  });

  it('other outputs agree within the tolerance of the largest relative difference', () => {
    const served = outputs({ y: tensor([3, 1], [1, -2, 0]) });
    const within = outputs({ y: tensor([3, 1], [1 + 0.5 * AGREEMENT_TOLERANCE, -2, 0]) });
    const beyond = outputs({ y: tensor([3, 1], [1, -2 * (1 + 2 * AGREEMENT_TOLERANCE), 0]) });
    const near = compareOutputs(served, within);
    assert.equal(near.agrees, true);
    assert.ok(Math.abs((near.maxRelDiff ?? 0) - (0.5 * AGREEMENT_TOLERANCE) / (1 + 0.5 * AGREEMENT_TOLERANCE)) < 1e-12);
    assert.equal(compareOutputs(served, beyond).agrees, false);
    assert.deepEqual(compareOutputs(served, served), { agrees: true, maxRelDiff: 0 });
  });

  it('a missing output or another shape disagrees', () => {
    const served = outputs({ y: tensor([2], [1, 2]), z: tensor([1], [3]) });
    assert.equal(compareOutputs(served, outputs({ y: tensor([2], [1, 2]) })).agrees, false);
    assert.equal(compareOutputs(served, outputs({ y: tensor([1, 2], [1, 2]), z: tensor([1], [3]) })).agrees, false);
  });

  it('strings and booleans agree when equal; NaN matches NaN; a lone NaN or infinity is as far as can be', () => {
    const words = outputs({ s: tensor([2], ['a', 'b'], 'string') });
    assert.deepEqual(compareOutputs(words, words), { agrees: true, maxRelDiff: null });
    assert.equal(compareOutputs(words, outputs({ s: tensor([2], ['a', 'c'], 'string') })).agrees, false);
    assert.equal(maxRelativeDifference([NaN, 1], [NaN, 1]), 0);
    assert.equal(maxRelativeDifference([NaN], [1]), INCOMPARABLE_DIFF);
    assert.equal(maxRelativeDifference([Infinity], [1e308]), INCOMPARABLE_DIFF);
    assert.equal(maxRelativeDifference([1], [-1]), 2);
    assert.equal(maxRelativeDifference([10n], [10n]), 0);
  });

  it('reads the outputs of a prediction answer: {dtype, shape, data} per output', () => {
    const read = comparableFromJson(
      '{"p":{"dtype":"float32","shape":[2,2],"data":[0.1,0.9,0.8,0.2]},"s":{"dtype":"string","shape":[],"data":["a"]}}',
    );
    assert.deepEqual(read?.get('p'), { dtype: 'float32', dims: [2, 2], values: [0.1, 0.9, 0.8, 0.2] });
    assert.deepEqual(read?.get('s'), { dtype: 'string', dims: [], values: ['a'] });
    assert.equal(comparableFromJson('[1]'), undefined);
    assert.equal(comparableFromJson('{'), undefined);
    assert.equal(comparableFromJson('{"p":[1,2]}'), undefined);
  });
});

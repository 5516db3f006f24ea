import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorData } from '../inference/tensor';
import type { TensorSpec } from '../inference/tensor-spec';
import { batchingObstacle, canBatch, groupForBatching, PreparedInstance, split, stack } from './batching';

const spec = (name: string, shape: number[], dimNames?: (string | null)[]): TensorSpec => ({
  name,
  dtype: 'float32',
  shape,
  ...(dimNames ? { dimNames } : {}),
});
const f32 = (dims: number[], values: number[]): TensorData => ({
  dtype: 'float32',
  dims,
  data: Float32Array.from(values),
});
const instance = (index: number, x: TensorData): PreparedInstance => ({ index, feeds: { x } });

describe('canBatch', () => {
  it('needs a dynamic leading dimension on every input and output, under one name', () => {
    const x = spec('x', [-1, 4], ['batch', null]);
    const y = spec('y', [-1, 3], ['batch', null]);
    assert.equal(canBatch([x], [y]), true);
    assert.equal(canBatch([x], [spec('y', [-1, 3])]), true, 'an unnamed output dimension is fine');
    assert.equal(canBatch([spec('x', [2, 3])], [spec('y', [2, 3])]), false, 'fixed shape');
    assert.equal(canBatch([x, spec('state', [2, -1, 128], [null, 'batch', null])], [y]), false, 'state first');
    assert.equal(canBatch([x], [spec('y', [-1, 2], ['rows', null])]), false, 'another dimension leads the output');
    assert.equal(canBatch([spec('s', [])], [y]), false, 'a scalar input');
  });
});

describe('batchingObstacle', () => {
  const x = spec('x', [-1, 4], ['batch', null]);
  const y = spec('y', [-1, 3]);

  it('is undefined exactly when canBatch holds', () => {
    assert.equal(batchingObstacle([x], [y]), undefined);
  });

  it('names the tensor at fault and why', () => {
    assert.equal(
      batchingObstacle([spec('x', [1, 4])], [y]),
      "input 'x' has the fixed first dimension 1 (shape [1, 4])",
    );
    assert.equal(
      batchingObstacle([x], [spec('y', [0, 3])]),
      "output 'y' has the fixed first dimension 0 (shape [0, 3])",
    );
    assert.equal(
      batchingObstacle([spec('s', [])], [y]),
      "input 's' has no first dimension (rank 0 or no declared shape)",
    );
    assert.equal(
      batchingObstacle([x], [spec('y', [-1, 2], ['rows', null])]),
      "its first dimensions have different names ('batch', 'rows'), so they are not one batch dimension",
    );
    assert.equal(batchingObstacle([], [y]), 'it has no inputs');
    assert.equal(batchingObstacle([x], []), 'it has no outputs');
  });
});

describe('groupForBatching, stack and split', () => {
  const specs = [spec('x', [-1, 2], ['batch', null])];

  it('groups by trailing shape, keeps leading dims of 0 and lone instances apart, bounds groups', () => {
    const instances = [
      instance(0, f32([1, 2], [1, 2])),
      instance(1, f32([1, 3], [1, 2, 3])),
      instance(2, f32([2, 2], [3, 4, 5, 6])),
      instance(3, f32([0, 2], [])),
      instance(4, f32([1, 2], [7, 8])),
    ];
    const { groups, singles } = groupForBatching(instances, specs, 1000, 10);
    assert.deepEqual(
      groups.map((g) => [g.members.map((m) => m.index), g.rows]),
      [
        [
          [0, 2, 4],
          [1, 2, 1],
        ],
      ],
    );
    assert.deepEqual(singles.map((s) => s.index).sort(), [1, 3]);

    const bounded = groupForBatching(instances, specs, 1000, 2);
    assert.deepEqual(
      bounded.groups.map((g) => g.members.map((m) => m.index)),
      [[0, 2]],
    );
    assert.deepEqual(bounded.singles.map((s) => s.index).sort(), [1, 3, 4]);
    const small = groupForBatching(instances, specs, 6, 10);
    assert.deepEqual(
      small.groups.map((g) => g.members.map((m) => m.index)),
      [[0, 2]],
      'at most 6 elements per batch',
    );
  });

  it('stacks into new buffers and splits outputs back by rows', () => {
    const members = [instance(0, f32([1, 2], [1, 2])), instance(1, f32([2, 2], [3, 4, 5, 6]))];
    const feeds = stack({ members, rows: [1, 2] }, specs);
    assert.deepEqual(feeds.x.dims, [3, 2]);
    assert.deepEqual([...(feeds.x.data as Float32Array)], [1, 2, 3, 4, 5, 6]);
    assert.notEqual((feeds.x.data as Float32Array).buffer, (members[0].feeds.x.data as Float32Array).buffer);

    const parts = split(
      { y: f32([3, 1], [10, 20, 30]), z: { dtype: 'int64', dims: [3], data: BigInt64Array.from([1n, 2n, 3n]) } },
      [1, 2],
    );
    assert.ok(parts);
    assert.deepEqual(parts[0].y.dims, [1, 1]);
    assert.deepEqual([...(parts[1].y.data as Float32Array)], [20, 30]);
    assert.deepEqual([...(parts[1].z.data as BigInt64Array)], [2n, 3n]);
    assert.equal(split({ y: f32([2, 1], [1, 2]) }, [1, 2]), undefined, 'an output that is not the batch');
    assert.equal(split({ y: f32([], [1]) }, [1]), undefined, 'a scalar output');
  });

  it('stacks string tensors', () => {
    const strings = (dims: number[], values: string[]): TensorData => ({ dtype: 'string', dims, data: values });
    const feeds = stack(
      { members: [instance(0, strings([1], ['a'])), instance(1, strings([2], ['b', 'c']))], rows: [1, 2] },
      [{ name: 'x', dtype: 'string', shape: [-1] }],
    );
    assert.deepEqual(feeds.x, { dtype: 'string', dims: [3], data: ['a', 'b', 'c'] });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../common/errors';
import type { TensorSpec } from './tensor-spec';
import { decodeInputs, MAX_TENSOR_RANK, nestsDeeperThan } from './tensor-codec';
import { parsePredictBody } from './predict-envelope';

/** Error messages stay small and cheap whatever the client sends (issue 8, finding 12). */
const MAX_MESSAGE_BYTES = 2048;

const X: TensorSpec[] = [{ name: 'x', dtype: 'float32', shape: [-1, 4] }];

function nested(depth: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function invalid(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, `expected an InvalidInputError, got ${String(error)}`);
    const size = Buffer.byteLength(JSON.stringify({ message: error.message, details: error.details }));
    assert.ok(size < MAX_MESSAGE_BYTES, `message and details take ${size} bytes`);
    return error;
  }
  assert.fail('expected an InvalidInputError');
}

function body(value: unknown): Uint8Array {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

describe('decodeInputs with hostile shapes, names and values', () => {
  it('shows eight dimensions of a rank-100,000 shape, then the rank', () => {
    const error = invalid(() => decodeInputs(X, { x: { shape: new Array(100_000).fill(1), data: [1] } }, 1e6));
    assert.equal(
      error.message,
      'inputs.x has rank 100000 (shape [1, 1, 1, 1, 1, 1, 1, 1, … (rank 100000)]), more than the 64 accepted; ' +
        'the model expects rank 2 ([-1, 4])',
    );
  });

  it('refuses a nested array 100,000 levels deep without walking it', () => {
    const error = invalid(() => decodeInputs(X, { x: nested(100_000) }, 1e6));
    assert.equal(error.message, 'inputs.x is nested deeper than 64 levels (the largest rank accepted)');
  });

  it('describes a shape whose dimensions are themselves deep arrays, without serializing them', () => {
    const error = invalid(() => decodeInputs(X, { x: { shape: [nested(50_000), 'a'.repeat(10_000)], data: [] } }, 1e6));
    assert.match(error.message, /^inputs\.x has an invalid shape \[an array of 1, "a{39}…\]/);
  });

  it('names a deep value inside data by its type only', () => {
    const error = invalid(() => decodeInputs(X, { x: { shape: [1, 4], data: [nested(50_000), 1, 2, 3] } }, 1e6));
    assert.equal(error.message, 'inputs.x value an array of 1 at flat index 0 is not representable as float32');
  });

  it('lists three of 100,000 unknown input names, each cut at 64 characters', () => {
    const inputs: Record<string, unknown> = { x: [[1, 2, 3, 4]] };
    for (let i = 0; i < 100_000; i++) inputs[`${'n'.repeat(200)}${i}`] = 1;
    const error = invalid(() => decodeInputs(X, inputs, 1e6));
    assert.equal(error.details?.length, 4);
    assert.equal(error.details?.[0].field, `inputs.${'n'.repeat(64)}…`);
    assert.deepEqual(error.details?.[3], {
      field: 'inputs',
      problem: 'has 99997 more names that are not inputs of this model',
    });
  });

  it('cuts the list of unknown fields of a {shape, data} tensor', () => {
    const tensor: Record<string, unknown> = { shape: [1, 4], data: [1, 2, 3, 4] };
    for (let i = 0; i < 1000; i++) tensor[`field${i}`.padEnd(300, '!')] = i;
    const error = invalid(() => decodeInputs(X, { x: tensor }, 1e6));
    assert.match(error.message, /has unknown fields .* and 990 more; use \{shape, data, dtype\?\}$/);
  });

  it(`still decodes a rank-${MAX_TENSOR_RANK} tensor`, () => {
    const spec: TensorSpec[] = [{ name: 'x', dtype: 'float32', shape: new Array(MAX_TENSOR_RANK).fill(-1) }];
    const tensors = decodeInputs(spec, { x: nested(MAX_TENSOR_RANK, 7) }, 10);
    assert.deepEqual(tensors.x.dims, new Array(MAX_TENSOR_RANK).fill(1));
    assert.deepEqual([...(tensors.x.data as Float32Array)], [7]);
  });
});

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, the value itself as level 1', () => {
    assert.equal(nestsDeeperThan(5, 0), false);
    assert.equal(nestsDeeperThan([], 0), true);
    assert.equal(nestsDeeperThan([[1], 2], 2), false);
    assert.equal(nestsDeeperThan([[1], [2, [3]]], 2), true);
    assert.equal(nestsDeeperThan({ a: { b: [1] } }, 3), false);
    assert.equal(nestsDeeperThan({ a: { b: [[1]] } }, 3), true);
  });

  it('finds a deep branch behind a million flat values, and a depth of a million, without recursion', () => {
    const flat: unknown[] = new Array(1_000_000).fill(0);
    flat.push(nested(66));
    assert.equal(nestsDeeperThan(flat, 66), true);
    assert.equal(nestsDeeperThan(nested(1_000_000), 64), true);
  });
});

describe('parsePredictBody with hostile bodies', () => {
  it('refuses inputs nested 10,000 levels deep with a 400 (they used to overflow the structured clone)', () => {
    const text = `{"model":"m","inputs":{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`;
    const error = invalid(() => parsePredictBody(body(text)));
    assert.deepEqual(error.details, [
      { field: 'inputs.x', problem: 'inputs.x is nested deeper than 64 levels (the largest rank accepted)' },
    ]);
  });

  it('refuses objects nested deep inside an input too', () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    invalid(() => parsePredictBody(body(`{"model":"m","inputs":{"x":${deep}}}`)));
  });

  it('accepts a rank-64 nested array and a {shape, data} tensor', () => {
    const parsed = parsePredictBody(body({ model: 'm', inputs: { x: nested(64), y: { shape: [1], data: [1] } } }));
    assert.deepEqual(Object.keys(parsed.inputs), ['x', 'y']);
  });

  it('lists three of many unknown top-level properties, each name cut', () => {
    const envelope: Record<string, unknown> = { model: 'm', inputs: {} };
    for (let i = 0; i < 5000; i++) envelope[`${i}`.padStart(500, 'p')] = i;
    const error = invalid(() => parsePredictBody(body(envelope)));
    assert.equal(error.details?.length, 4);
    assert.equal(error.details?.[3].problem, 'and 4997 more properties that should not exist');
  });

  it('cuts the JSON parser message', () => {
    const error = invalid(() => parsePredictBody(body(`{"model": "${'x'.repeat(100_000)}`)));
    assert.match(error.message, /^Malformed JSON body: /);
  });
});

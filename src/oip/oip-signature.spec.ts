import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesOf } from '../../test/support/oip-wire';
import { InvalidInputError } from '../common/errors';
import type { TensorSpec } from '../inference/tensor-spec';
import { checkRequestedOutputs, conformOipInputs } from './oip-signature';
import type { OipInput } from './oip-types';

const SPECS: TensorSpec[] = [
  { name: 'image', dtype: 'float32', shape: [-1, 3, 2], dimNames: ['batch', null, null] },
  { name: 'mask', dtype: 'bool', shape: [-1], dimNames: ['batch'] },
  { name: 'label', dtype: 'string', shape: [-1], dimNames: [null] },
];

const image = (batch: number): OipInput => ({
  name: 'image',
  datatype: 'FP32',
  shape: [batch, 3, 2],
  data: bytesOf('FP32', new Array<number>(batch * 6).fill(1)),
});
const mask = (batch: number): OipInput => ({
  name: 'mask',
  datatype: 'BOOL',
  shape: [batch],
  data: bytesOf('BOOL', new Array<boolean>(batch).fill(true)),
});
const label: OipInput = { name: 'label', datatype: 'BYTES', shape: [1], data: ['cat'] };

function refuses(read: () => unknown, message: string): void {
  assert.throws(read, (error: unknown) => {
    assert.ok(error instanceof InvalidInputError, `expected an InvalidInputError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

describe('conformOipInputs', () => {
  it('gives numeric inputs as raw tensors over the same bytes and BYTES as string tensors', () => {
    const x = image(2);
    const tensors = conformOipInputs(SPECS, [label, mask(2), x]);
    assert.deepEqual(Object.keys(tensors).sort(), ['image', 'label', 'mask']);
    assert.deepEqual(tensors.image, { dtype: 'float32', dims: [2, 3, 2], bytes: x.data });
    assert.equal((tensors.image as { bytes: Uint8Array }).bytes, x.data, 'no copy');
    assert.equal((tensors.mask as { dtype: string }).dtype, 'bool');
    assert.deepEqual(tensors.label, { dtype: 'string', dims: [1], data: ['cat'] });
  });

  it('reports every problem at once, each naming its input', () => {
    const wrongType: OipInput = { ...image(1), datatype: 'FP64' };
    refuses(
      () => conformOipInputs(SPECS, [wrongType, { ...label, shape: [1, 1] }, { ...label, name: 'extra' }]),
      "input 'extra' is not an input of this model; its inputs are image, mask, label; " +
        "input 'image' has datatype FP64 but the model expects FP32; " +
        "input 'mask' is missing: the model expects BOOL [-1]; " +
        "input 'label' has rank 2 (shape [1, 1]) but the model expects rank 1 ([-1])",
    );
  });

  it('refuses a fixed dimension that differs, Triton style', () => {
    refuses(
      () => conformOipInputs(SPECS, [{ ...image(1), shape: [1, 2, 3] }, mask(1), label]),
      "input 'image' has shape [1, 2, 3] but the model expects [-1, 3, 2]: dimension 1 must be 3, got 2",
    );
  });

  it('refuses symbolic dimensions that disagree between inputs', () => {
    refuses(
      () => conformOipInputs(SPECS, [image(2), mask(3), label]),
      "input 'mask' has batch=3 in dimension 0 but input 'image' has batch=2",
    );
  });

  it('keeps an input named __proto__ an own key', () => {
    const specs: TensorSpec[] = [{ name: '__proto__', dtype: 'uint8', shape: [1] }];
    const tensors = conformOipInputs(specs, [
      { name: '__proto__', datatype: 'UINT8', shape: [1], data: bytesOf('UINT8', [7]) },
    ]);
    assert.ok(Object.hasOwn(tensors, '__proto__'));
  });
});

describe('checkRequestedOutputs', () => {
  const outputs: TensorSpec[] = [
    { name: 'probabilities', dtype: 'float32', shape: [-1, 10] },
    { name: 'label', dtype: 'int64', shape: [-1] },
  ];

  it('accepts known names and no list at all', () => {
    checkRequestedOutputs(outputs, [{ name: 'label', binary: true }]);
    checkRequestedOutputs(outputs, undefined);
  });

  it('refuses unknown names, naming them and a few at most', () => {
    refuses(
      () =>
        checkRequestedOutputs(outputs, [
          { name: 'probs', binary: false },
          { name: 'label', binary: false },
        ]),
      "output 'probs' is not an output of this model; its outputs are probabilities, label",
    );
    const many = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, binary: false }));
    assert.throws(
      () => checkRequestedOutputs(outputs, many),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        e.message.endsWith('; outputs name 2 more that are not outputs of this model'),
    );
  });
});

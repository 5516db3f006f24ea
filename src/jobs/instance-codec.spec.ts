import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorData } from '../inference/tensor';
import { decodeInstance, encodeInstance } from './instance-codec';

describe('instance codec', () => {
  it('round-trips every dtype exactly, into aligned buffers of their own', () => {
    const feeds: Record<string, TensorData> = {
      f: { dtype: 'float32', dims: [1, 3], data: Float32Array.from([0.1, -2.5, 3.4028234663852886e38]) },
      d: { dtype: 'float64', dims: [2], data: Float64Array.from([Math.PI, -0]) },
      i: { dtype: 'int64', dims: [2], data: BigInt64Array.from([9007199254740993n, -(2n ** 63n)]) },
      u: { dtype: 'uint8', dims: [1], data: Uint8Array.from([255]) },
      b: { dtype: 'bool', dims: [2], data: Uint8Array.from([1, 0]) },
      s: { dtype: 'string', dims: [2], data: ['a', 'é\n"'] },
      // A view into a larger buffer: only its own bytes are stored.
      v: { dtype: 'int16', dims: [2], data: new Int16Array(Int16Array.from([9, 1, 2, 9]).buffer, 2, 2) },
    };
    const stored = encodeInstance(feeds);
    assert.equal(stored.data.byteLength, 12 + 16 + 16 + 1 + 2 + 4, 'raw bytes of the numeric tensors only');
    assert.ok(stored.header.includes('é\\n\\"'), 'strings stay in the header');
    const back = decodeInstance(stored);
    assert.deepEqual(Object.keys(back), Object.keys(feeds));
    for (const [name, tensor] of Object.entries(feeds)) {
      assert.equal(back[name].dtype, tensor.dtype);
      assert.deepEqual(back[name].dims, tensor.dims);
      assert.deepEqual([...back[name].data], [...tensor.data], name);
      assert.equal(back[name].data.constructor, tensor.data.constructor, name);
    }
    const view = back.v.data as Int16Array;
    assert.equal(view.byteOffset, 0);
    assert.equal(view.byteLength, view.buffer.byteLength, 'transferable to a worker whole');
  });

  it('uses data handed over in place when one tensor fills its whole buffer, and copies otherwise', () => {
    const encoded = encodeInstance({ x: { dtype: 'float32', dims: [2], data: Float32Array.from([1.5, -2]) } });
    // As a row read from the database comes: the data alone in a buffer of its own.
    const one = { header: encoded.header, data: Buffer.from(new Uint8Array(encoded.data).buffer) };
    const adopted = decodeInstance(one, { adopt: true }).x.data as Float32Array;
    assert.equal(adopted.buffer, one.data.buffer, 'no copy');
    assert.deepEqual([...adopted], [1.5, -2]);
    assert.notEqual((decodeInstance(one).x.data as Float32Array).buffer, one.data.buffer, 'a copy unless handed over');
    const two = encodeInstance({
      x: { dtype: 'float32', dims: [1], data: Float32Array.from([1]) },
      y: { dtype: 'float32', dims: [1], data: Float32Array.from([2]) },
    });
    const back = decodeInstance(two, { adopt: true });
    for (const name of ['x', 'y']) {
      const data = back[name].data as Float32Array;
      assert.notEqual(data.buffer, two.data.buffer, `${name}: part of a shared buffer is copied`);
      assert.equal(data.byteLength, data.buffer.byteLength);
    }
  });

  it('keeps an input named __proto__ as an own key', () => {
    const feeds: Record<string, TensorData> = {};
    Object.defineProperty(feeds, '__proto__', {
      value: { dtype: 'float32', dims: [1], data: Float32Array.from([1]) },
      enumerable: true,
    });
    const back = decodeInstance(encodeInstance(feeds));
    assert.ok(Object.hasOwn(back, '__proto__'));
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
  });
});

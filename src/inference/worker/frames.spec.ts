import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, encodeFrame, FrameReader } from './frames';

function roundTrip(message: unknown): unknown {
  const whole = Buffer.concat(encodeFrame(message));
  return decodeFrame(new Uint8Array(whole));
}

describe('inference frames', () => {
  it('carries typed arrays, ArrayBuffers and Buffers as bytes, in place, with the rest as JSON', () => {
    const message = {
      id: 7,
      type: 'run',
      feeds: {
        x: { dims: [2, 2], data: new Float64Array([1.5, -0, NaN, Infinity]) },
        y: { dtype: 'int64', dims: [1], data: new BigInt64Array([2n ** 62n]) },
        s: { dtype: 'string', dims: [2], data: ['a', 'b'] },
      },
      body: Buffer.from('{"model":"m"}'),
      part: new Uint8Array([1, 2, 3]).buffer,
      odd: new Uint8Array(new ArrayBuffer(16), 3, 5),
      rows: [1, 1],
    };
    const back = roundTrip(message) as typeof message;
    assert.equal(back.id, 7);
    assert.ok(back.feeds.x.data instanceof Float64Array);
    assert.deepEqual([...back.feeds.x.data].map(String), ['1.5', '0', 'NaN', 'Infinity']);
    assert.ok(Object.is(back.feeds.x.data[1], -0), 'bytes, not JSON: -0 survives');
    assert.deepEqual([...back.feeds.y.data], [2n ** 62n]);
    assert.deepEqual(back.feeds.s.data, ['a', 'b']);
    assert.equal(Buffer.from(back.body).toString(), '{"model":"m"}');
    assert.deepEqual([...new Uint8Array(back.part)], [1, 2, 3]);
    assert.equal(back.odd.byteLength, 5);
    assert.deepEqual(back.rows, [1, 1]);
  });

  it('keeps a key named __proto__ an own key and cannot be fooled by client data shaped like a reference', () => {
    const inputs: Record<string, unknown> = {};
    Object.defineProperty(inputs, '__proto__', { value: { dims: [1], data: new Float32Array([3]) }, enumerable: true });
    const message = { inputs, declared: { m: null, r: [[['inputs'], 'Float64Array', 0, 8]] } };
    const back = roundTrip(message) as { inputs: Record<string, { data: Float32Array }>; declared: unknown };
    assert.ok(Object.hasOwn(back.inputs, '__proto__'));
    assert.deepEqual([...back.inputs['__proto__'].data], [3]);
    assert.equal(Object.getPrototypeOf(back.inputs), Object.prototype);
    assert.deepEqual(back.declared, message.declared);
  });

  it('reassembles frames split and joined anywhere in the byte stream', () => {
    const messages = Array.from({ length: 20 }, (_, i) => ({ id: i, data: new Float32Array(i * 37).fill(i) }));
    const stream = Buffer.concat(messages.flatMap((m) => encodeFrame(m)));
    for (const step of [1, 3, 7, 64, 1000, stream.length]) {
      const got: { id: number; data: Float32Array }[] = [];
      const reader = new FrameReader((m) => got.push(m as { id: number; data: Float32Array }));
      for (let at = 0; at < stream.length; at += step) reader.push(stream.subarray(at, at + step));
      assert.equal(got.length, messages.length, `chunks of ${step}`);
      got.forEach((m, i) => {
        assert.equal(m.id, i);
        assert.equal(m.data.length, i * 37);
        assert.ok(m.data.every((v) => v === i));
      });
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesOf, halfBitsOf, halfValueOf, valuesOf } from '../../test/support/oip-wire';
import { InvalidInputError } from '../common/errors';
import { oipDatatypeOf } from '../oip/oip-datatypes';
import { elementCount, numericArrayClass, TensorData } from './tensor';
import { TENSOR_DTYPES } from './tensor-spec';
import { float16ToNumber, jsonDataOf, numberToFloat16, rawBytesOf, tensorFromRaw } from './tensor-wire';

describe('float16 conversions', () => {
  const exact: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [value, bits] of exact) {
    it(`${Object.is(value, -0) ? '-0' : value} <-> 0x${bits.toString(16)}`, () => {
      assert.equal(numberToFloat16(value), bits);
      assert.ok(Object.is(float16ToNumber(bits), value));
    });
  }

  it('rounds to nearest, ties to even', () => {
    assert.equal(numberToFloat16(1 + 2 ** -11), 0x3c00, 'a tie between 1 and the next half goes to the even 1');
    assert.equal(numberToFloat16(1 + 3 * 2 ** -11), 0x3c02, 'a tie goes up to the even significand');
    assert.equal(numberToFloat16(1 + 2 ** -11 + 2 ** -30), 0x3c01, 'past the tie rounds up');
    assert.equal(numberToFloat16(0.1), 0x2e66);
    assert.equal(numberToFloat16(2 ** -25), 0x0000, 'half the smallest subnormal ties to zero');
    assert.equal(numberToFloat16(3 * 2 ** -25), 0x0002, 'one and a half subnormals tie to two');
    assert.equal(numberToFloat16(2 ** -14 - 2 ** -25), 0x0400, 'the largest subnormal plus a half step is normal');
    assert.equal(numberToFloat16(-(2 ** -26)), 0x8000, 'a tiny negative keeps its sign');
  });

  it('overflows to Infinity from 65520 on (the tie above 65504 rounds to even, out of range)', () => {
    assert.equal(numberToFloat16(65519.99), 0x7bff);
    assert.equal(numberToFloat16(65520), 0x7c00);
    assert.equal(numberToFloat16(-1e10), 0xfc00);
    assert.equal(numberToFloat16(Number.MAX_VALUE), 0x7c00);
  });

  it('keeps NaN a NaN both ways', () => {
    assert.equal(numberToFloat16(NaN), 0x7e00);
    assert.ok(Number.isNaN(float16ToNumber(0x7e00)));
    assert.ok(Number.isNaN(float16ToNumber(0xfc01)));
  });

  it('agrees with an independent oracle on any double, and decodes every half exactly', () => {
    fc.assert(
      fc.property(fc.double(), (value) => numberToFloat16(value) === halfBitsOf(value)),
      { seed: 20260801, numRuns: 5000 },
    );
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = float16ToNumber(bits);
      if (Number.isNaN(value)) continue;
      assert.ok(Object.is(value, halfValueOf(bits)), `0x${bits.toString(16)}`);
      assert.equal(numberToFloat16(value), bits, `0x${bits.toString(16)} round trips`);
    }
  });
});

describe('rawBytesOf', () => {
  it('is a view of a numeric tensor, little-endian', () => {
    const data = new Float32Array([1.5, -2, 3]);
    const bytes = rawBytesOf({ dtype: 'float32', dims: [3], data });
    assert.equal(bytes.buffer, data.buffer);
    assert.deepEqual(valuesOf('FP32', bytes), [1.5, -2, 3]);
  });

  it('views a subarray at its own offset', () => {
    const data = new BigInt64Array([1n, -2n, 3n]).subarray(1);
    assert.deepEqual(valuesOf('INT64', rawBytesOf({ dtype: 'int64', dims: [2], data })), [-2n, 3n]);
  });

  it('frames strings as 4-byte LE lengths then UTF-8', () => {
    const bytes = rawBytesOf({ dtype: 'string', dims: [3], data: ['a', '', 'é€'] });
    assert.deepEqual(Buffer.from(bytes), bytesOf('BYTES', ['a', '', 'é€']));
    assert.equal(bytes.byteLength, 4 + 1 + 4 + 4 + 5);
  });
});

describe('tensorFromRaw', () => {
  it('views aligned bytes without a copy', () => {
    const bytes = bytesOf('INT32', [1, -1, 7]);
    const aligned = new Uint8Array(new ArrayBuffer(16), 4, 12);
    aligned.set(bytes);
    const tensor = tensorFromRaw({ dtype: 'int32', dims: [3], bytes: aligned });
    assert.ok(tensor.data instanceof Int32Array);
    assert.equal(tensor.data.buffer, aligned.buffer);
    assert.deepEqual(Array.from(tensor.data), [1, -1, 7]);
  });

  it('copies unaligned bytes once into an aligned buffer', () => {
    const bytes = bytesOf('FP64', [0.25, -1e300]);
    const unaligned = new Uint8Array(new ArrayBuffer(17), 1, 16);
    unaligned.set(bytes);
    const tensor = tensorFromRaw({ dtype: 'float64', dims: [2, 1], bytes: unaligned });
    assert.ok(tensor.data instanceof Float64Array);
    assert.notEqual(tensor.data.buffer, unaligned.buffer);
    assert.deepEqual(Array.from(tensor.data), [0.25, -1e300]);
    assert.deepEqual(tensor.dims, [2, 1]);
  });

  it('reads bool as bytes and float16 as its words', () => {
    const bools = tensorFromRaw({ dtype: 'bool', dims: [2], bytes: bytesOf('BOOL', [true, false]) });
    assert.ok(bools.data instanceof Uint8Array);
    assert.deepEqual(Array.from(bools.data), [1, 0]);
    const halves = tensorFromRaw({ dtype: 'float16', dims: [1], bytes: bytesOf('FP16', [1]) });
    assert.ok(halves.data instanceof Uint16Array);
    assert.deepEqual(Array.from(halves.data), [0x3c00]);
  });

  it('refuses bytes that do not hold the elements of the dims', () => {
    assert.throws(
      () => tensorFromRaw({ dtype: 'float32', dims: [2], bytes: new Uint8Array(7) }),
      (e: unknown) =>
        e instanceof InvalidInputError && e.message === '7 bytes do not hold the 2 float32 elements of their shape',
    );
  });

  it('reads string tensors back from their framing, and refuses frames that run past the bytes', () => {
    const data = ['a', '', 'é€'];
    const bytes = rawBytesOf({ dtype: 'string', dims: [3], data });
    assert.deepEqual(tensorFromRaw({ dtype: 'string', dims: [3], bytes }).data, data);
    for (const cut of [1, 4, bytes.length - 1]) {
      assert.throws(
        () => tensorFromRaw({ dtype: 'string', dims: [3], bytes: bytes.subarray(0, cut) }),
        (e: unknown) => e instanceof InvalidInputError && /runs past the end/.test(e.message),
      );
    }
  });

  it('refuses string elements that are not UTF-8, and keeps a byte-order mark', () => {
    assert.throws(
      () => tensorFromRaw({ dtype: 'string', dims: [1], bytes: new Uint8Array([1, 0, 0, 0, 0xff]) }),
      (e: unknown) =>
        e instanceof InvalidInputError && e.message === 'string tensor has BYTES element 0 that is not valid UTF-8',
    );
    const bytes = rawBytesOf({ dtype: 'string', dims: [1], data: ['\ufeffx'] });
    assert.deepEqual(tensorFromRaw({ dtype: 'string', dims: [1], bytes }).data, ['\ufeffx']);
  });
});

describe('jsonDataOf', () => {
  const cases: [string, TensorData, string][] = [
    ['float32', { dtype: 'float32', dims: [2], data: new Float32Array([0.5, -3]) }, '[0.5,-3]'],
    [
      'float64 non-finite',
      { dtype: 'float64', dims: [3], data: new Float64Array([NaN, Infinity, 1e-7]) },
      '[null,null,1e-7]',
    ],
    ['float16', { dtype: 'float16', dims: [2], data: new Uint16Array([0x3c00, 0xc000]) }, '[1,-2]'],
    [
      'int64 beyond 2^53, exact',
      { dtype: 'int64', dims: [2], data: new BigInt64Array([-(2n ** 63n), 9007199254740993n]) },
      '[-9223372036854775808,9007199254740993]',
    ],
    ['uint64', { dtype: 'uint64', dims: [1], data: new BigUint64Array([2n ** 64n - 1n]) }, '[18446744073709551615]'],
    ['int8', { dtype: 'int8', dims: [2], data: new Int8Array([-128, 127]) }, '[-128,127]'],
    ['bool', { dtype: 'bool', dims: [2], data: new Uint8Array([1, 0]) }, '[true,false]'],
    ['string', { dtype: 'string', dims: [2], data: ['a"b', 'é'] }, '["a\\"b","é"]'],
    ['empty', { dtype: 'uint32', dims: [0, 3], data: new Uint32Array(0) }, '[]'],
  ];
  for (const [what, tensor, json] of cases) {
    it(what, () => assert.equal(jsonDataOf(tensor), json));
  }
});

/** Any tensor: random element bytes (so every NaN, subnormal and extreme value) or random strings. */
const anyTensor: fc.Arbitrary<TensorData> = fc
  .record({
    dtype: fc.constantFrom(...TENSOR_DTYPES),
    dims: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
  })
  .chain(({ dtype, dims }) => {
    const count = elementCount(dims);
    if (dtype === 'string') {
      return fc
        .array(fc.string({ unit: 'grapheme', maxLength: 4 }), { minLength: count, maxLength: count })
        .map((data) => ({ dtype, dims, data }));
    }
    const size = numericArrayClass(dtype).BYTES_PER_ELEMENT;
    return fc
      .uint8Array({ minLength: count * size, maxLength: count * size })
      .map((bytes) => tensorFromRaw({ dtype, dims, bytes }));
  });

describe('wire forms (property)', () => {
  it('rawBytesOf and tensorFromRaw are inverse, and jsonDataOf reads back to the same values', () => {
    fc.assert(
      fc.property(anyTensor, (tensor) => {
        const datatype = oipDatatypeOf(tensor.dtype);
        const bytes = rawBytesOf(tensor);
        const values = valuesOf(datatype, bytes);
        assert.deepEqual(tensorFromRaw({ ...tensor, bytes }), tensor);
        const json = jsonDataOf(tensor);
        if (typeof values[0] === 'bigint') assert.equal(json, `[${values.join(',')}]`, 'exact decimal literals');
        else {
          // JSON has no NaN, Infinity or -0: null, null and 0, as JSON.stringify writes them.
          const readable = values.map((v) => (typeof v !== 'number' ? v : Number.isFinite(v) ? v + 0 : null));
          assert.deepEqual(JSON.parse(json), readable);
        }
      }),
      { seed: 20260801, numRuns: 500 },
    );
  });
});

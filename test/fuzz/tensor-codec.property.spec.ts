import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeInputs } from '../../src/inference/tensor-codec';
import { elementCount, TensorData } from '../../src/inference/tensor';
import type { TensorDtype, TensorSpec } from '../../src/inference/tensor-spec';
import { hostileValue } from './hostile-values';
import { mutatedJson } from './json-bodies';
import { asParsedJson, described, preview, resultOrClientError, runs } from './property-support';

const MAX_ELEMENTS = 10_000;

const DTYPES: TensorDtype[] = [
  'float32',
  'float64',
  'float16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
  'string',
];

const STORAGE: Record<TensorDtype, string> = {
  float32: 'Float32Array',
  float64: 'Float64Array',
  float16: 'Uint16Array',
  int8: 'Int8Array',
  uint8: 'Uint8Array',
  int16: 'Int16Array',
  uint16: 'Uint16Array',
  int32: 'Int32Array',
  uint32: 'Uint32Array',
  int64: 'BigInt64Array',
  uint64: 'BigUint64Array',
  bool: 'Uint8Array',
  string: 'Array',
};

/** A model signature: 1-3 inputs, rank 0-3, dynamic (-1) or fixed dimensions, a shared `batch`. */
const signature: fc.Arbitrary<TensorSpec[]> = fc
  .uniqueArray(
    fc.record({
      name: fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/), fc.constantFrom('__proto__', 'constructor', 'x')),
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 4 })), { maxLength: 3 }),
    }),
    { selector: (s) => s.name, minLength: 1, maxLength: 3 },
  )
  .map((specs) =>
    specs.map((s) => ({ ...s, dimNames: s.shape.map((d, i) => (d === -1 && i === 0 ? 'batch' : null)) })),
  );

/** A value of the dtype that the decoder must accept, and what it must store for it. */
function element(dtype: TensorDtype): fc.Arbitrary<{ json: unknown; stored: unknown }> {
  const same = (arb: fc.Arbitrary<unknown>) => arb.map((v) => ({ json: v, stored: v }));
  switch (dtype) {
    case 'float32':
      return fc
        .float({ noNaN: true, noDefaultInfinity: true })
        .map((v) => ({ json: v, stored: Object.is(v, -0) ? -0 : Math.fround(v) }));
    case 'float64':
      return same(fc.double({ noNaN: true, noDefaultInfinity: true }));
    case 'int8':
      return same(fc.integer({ min: -128, max: 127 }));
    case 'uint8':
      return same(fc.integer({ min: 0, max: 255 }));
    case 'int16':
      return same(fc.integer({ min: -32768, max: 32767 }));
    case 'uint16':
      return same(fc.integer({ min: 0, max: 65535 }));
    case 'int32':
      return same(fc.integer({ min: -2147483648, max: 2147483647 }));
    case 'uint32':
      return same(fc.integer({ min: 0, max: 4294967295 }));
    case 'int64':
      return fc.oneof(
        fc.maxSafeInteger().map((v) => ({ json: v, stored: BigInt(v) })),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ json: v.toString(), stored: v })),
      );
    case 'uint64':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ json: v.toString(), stored: v }));
    case 'bool':
      return fc.boolean().map((v) => ({ json: v, stored: v ? 1 : 0 }));
    default:
      return same(fc.string({ maxLength: 6 }));
  }
}

/** Flat row-major values as nested arrays of `dims`. */
function nest(flat: unknown[], dims: number[]): unknown {
  if (dims.length === 0) return flat[0];
  const [first, ...rest] = dims;
  const size = elementCount(rest);
  return Array.from({ length: first }, (_, i) => nest(flat.slice(i * size, (i + 1) * size), rest));
}

interface ValidInputs {
  specs: TensorSpec[];
  inputs: Record<string, unknown>;
  expected: Record<string, { dims: number[]; stored: unknown[] }>;
}

/** Inputs that fit the signature, nested or explicit, with the values the decoder must store. */
const validInputs: fc.Arbitrary<ValidInputs> = signature
  .filter((specs) => specs.every((s) => s.dtype !== 'float16'))
  .chain((specs) =>
    fc.integer({ min: 0, max: 3 }).chain((batch) => {
      const perSpec = specs.map((spec) => {
        const dims = spec.shape.map((d, i) => (d >= 0 ? d : i === 0 ? batch : 2));
        return fc
          .tuple(
            fc.array(element(spec.dtype), { minLength: elementCount(dims), maxLength: elementCount(dims) }),
            fc.boolean(),
          )
          .map(([values, explicit]) => {
            const flat = values.map((v) => v.json);
            // Nested arrays cannot spell a zero dimension before the last one: use {shape, data} there.
            const useExplicit = explicit || dims.slice(0, -1).includes(0);
            const tensor = useExplicit ? { shape: dims, data: flat } : nest(flat, dims);
            return { spec, tensor, dims, stored: values.map((v) => v.stored) };
          });
      });
      return fc.tuple(...perSpec).map((entries) => {
        const inputs: Record<string, unknown> = {};
        const expected: ValidInputs['expected'] = {};
        for (const e of entries) {
          Object.defineProperty(inputs, e.spec.name, { value: e.tensor, enumerable: true });
          Object.defineProperty(expected, e.spec.name, { value: { dims: e.dims, stored: e.stored }, enumerable: true });
        }
        return { specs, inputs, expected };
      });
    }),
  );

/** Nested arrays `depth` levels deep, built without recursion. */
function deepArray(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** The decoder's promise: typed tensors that match the signature, or a 4xx domain error. */
function decodeChecked(specs: TensorSpec[], inputs: unknown): Record<string, TensorData> | undefined {
  const tensors = resultOrClientError(() => decodeInputs(specs, inputs, MAX_ELEMENTS));
  if (tensors === undefined) return undefined;
  assert.deepEqual(Object.keys(tensors).sort(), specs.map((s) => s.name).sort());
  let total = 0;
  const batch = new Map<string, number>();
  for (const spec of specs) {
    const tensor = Object.getOwnPropertyDescriptor(tensors, spec.name)?.value as TensorData;
    assert.equal(tensor.dtype, spec.dtype);
    assert.equal(tensor.dims.length, spec.shape.length, `rank of ${spec.name}`);
    tensor.dims.forEach((d, i) => {
      assert.ok(Number.isSafeInteger(d) && d >= 0, `dimension ${i} of ${spec.name} is ${d}`);
      if (spec.shape[i] >= 0) assert.equal(d, spec.shape[i], `fixed dimension ${i} of ${spec.name}`);
      const name = spec.dimNames?.[i];
      if (name) {
        if (!batch.has(name)) batch.set(name, d);
        assert.equal(d, batch.get(name), `shared dimension ${name}`);
      }
    });
    assert.equal(tensor.data.length, elementCount(tensor.dims), `element count of ${spec.name}`);
    assert.equal(tensor.data.constructor.name, STORAGE[spec.dtype]);
    total += tensor.data.length;
  }
  assert.ok(total <= MAX_ELEMENTS, `${total} elements decoded, budget ${MAX_ELEMENTS}`);
  return tensors;
}

describe('decodeInputs (property)', () => {
  it('decodes inputs that fit the signature into exactly the given values', () => {
    fc.assert(
      fc.property(validInputs, ({ specs, inputs, expected }) => {
        const tensors = decodeChecked(specs, inputs);
        assert.ok(tensors, 'valid inputs were refused');
        for (const spec of specs) {
          const tensor = Object.getOwnPropertyDescriptor(tensors, spec.name)?.value as TensorData;
          const want = Object.getOwnPropertyDescriptor(expected, spec.name)?.value as ValidInputs['expected'][string];
          assert.deepEqual(tensor.dims, want.dims);
          assert.deepEqual(Array.from(tensor.data as ArrayLike<unknown>), want.stored);
        }
      }),
      runs(400),
    );
  });

  it('answers any JSON value with tensors that fit the signature or a 4xx domain error', () => {
    fc.assert(
      fc.property(signature, fc.jsonValue({ maxDepth: 5 }), (specs, inputs) => void decodeChecked(specs, inputs)),
      runs(400),
    );
  });

  it('answers valid inputs with one hostile value anywhere inside the same way', () => {
    const mutated = validInputs.chain(({ specs, inputs }) =>
      mutatedJson(fc.constant(inputs)).map((m) =>
        described(
          { specs, inputs: asParsedJson(m.value) },
          (v) => `${m.label}: ${JSON.stringify(v.specs)} ${preview(m.value)}`,
        ),
      ),
    );
    fc.assert(
      fc.property(mutated, ({ specs, inputs }) => void decodeChecked(specs, inputs)),
      runs(400),
    );
  });

  it('answers hostile tensors (deep, huge shapes, prototype keys, odd values) the same way', () => {
    const hostileTensor = fc.oneof(
      hostileValue.map((h) => asParsedJson(h.value)),
      fc.integer({ min: 100, max: 50_000 }).map(deepArray),
      fc
        .array(fc.oneof(fc.constantFrom(0, -1, 1e9, 2 ** 53, 2 ** 31, 1.5, NaN), fc.nat()), { maxLength: 8 })
        .chain((shape) => fc.array(fc.double(), { maxLength: 20 }).map((data) => ({ shape, data }))),
      fc.integer({ min: 4, max: 100_000 }).map((rank) => ({ shape: new Array<number>(rank).fill(1), data: [1] })),
      fc.constantFrom<unknown>({ shape: [1], data: [1], dtype: 'float16' }, { data: [1] }, { shape: 'x', data: 'y' }),
    );
    fc.assert(
      fc.property(signature, fc.array(hostileTensor, { minLength: 1, maxLength: 3 }), (specs, tensors) => {
        const inputs: Record<string, unknown> = {};
        specs.forEach((s, i) =>
          Object.defineProperty(inputs, s.name, { value: tensors[i % tensors.length], enumerable: true }),
        );
        decodeChecked(specs, inputs);
      }),
      runs(300),
    );
  });
});

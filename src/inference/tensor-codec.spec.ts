import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorDetail, InvalidInputError, STATUS_BY_KIND } from '../common/errors';
import type { TensorDtype, TensorSpec } from './tensor-spec';
import { decodeInputs } from './tensor-codec';
import { encodeTensor } from './tensor-encode';
import type { TensorData } from './tensor';

const BIG = 1_000_000;

function spec(name: string, dtype: TensorDtype, shape: number[]): TensorSpec {
  return { name, dtype, shape };
}

/** Runs fn, which must throw an InvalidInputError, and returns that error. */
function catchInvalid(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, `expected an InvalidInputError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an InvalidInputError, but nothing was thrown');
}

/** Decodes inputs that must fail with exactly one problem; checks message and details agree. */
function oneProblem(specs: TensorSpec[], inputs: unknown, maxElements = BIG): ErrorDetail {
  const error = catchInvalid(() => decodeInputs(specs, inputs, maxElements));
  assert.equal(error.kind, 'invalid');
  assert.ok(error.details, 'an InvalidInputError from decodeInputs carries details');
  assert.equal(error.details.length, 1, `expected one problem, got: ${error.message}`);
  const detail = error.details[0];
  assert.equal(error.message, `${detail.field} ${detail.problem}`);
  return detail;
}

/** The problem reported for input x of the given dtype/shape when sent `value`. */
function problemForX(dtype: TensorDtype, shape: number[], value: unknown): string {
  const detail = oneProblem([spec('x', dtype, shape)], { x: value });
  assert.equal(detail.field, 'inputs.x');
  return detail.problem;
}

function decodeX(dtype: TensorDtype, shape: number[], value: unknown): TensorData {
  const tensors = decodeInputs([spec('x', dtype, shape)], { x: value }, BIG);
  assert.deepEqual(Object.keys(tensors), ['x']);
  return tensors.x;
}

describe('decodeInputs', () => {
  describe('nested arrays', () => {
    it('decodes float32 into a Float32Array with inferred dims, in row-major order', () => {
      const tensor = decodeX(
        'float32',
        [-1, 4],
        [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ],
      );
      assert.equal(tensor.dtype, 'float32');
      assert.deepEqual(tensor.dims, [2, 4]);
      assert.ok(tensor.data instanceof Float32Array);
      assert.deepEqual(tensor.data, new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    });

    it('flattens a rank-3 tensor row-major (last dimension fastest)', () => {
      const tensor = decodeX(
        'int32',
        [2, 3, 2],
        [
          [
            [0, 1],
            [2, 3],
            [4, 5],
          ],
          [
            [6, 7],
            [8, 9],
            [10, 11],
          ],
        ],
      );
      assert.deepEqual(tensor.dims, [2, 3, 2]);
      assert.deepEqual(
        tensor.data,
        Int32Array.from({ length: 12 }, (_, i) => i),
      );
    });

    it('rounds float32 values to float32 precision and keeps float64 values exact', () => {
      assert.equal((decodeX('float32', [1], [0.1]).data as Float32Array)[0], Math.fround(0.1));
      assert.notEqual(Math.fround(0.1), 0.1);
      assert.equal((decodeX('float64', [1], [0.1]).data as Float64Array)[0], 0.1);
    });

    const cases: Array<[TensorDtype, unknown[], unknown]> = [
      ['float32', [1.5, -2], new Float32Array([1.5, -2])],
      ['float64', [1e300, -0.25], new Float64Array([1e300, -0.25])],
      ['int8', [-128, 127], new Int8Array([-128, 127])],
      ['uint8', [0, 255], new Uint8Array([0, 255])],
      ['int16', [-32768, 32767], new Int16Array([-32768, 32767])],
      ['uint16', [0, 65535], new Uint16Array([0, 65535])],
      ['int32', [-2147483648, 2147483647], new Int32Array([-2147483648, 2147483647])],
      ['uint32', [0, 4294967295], new Uint32Array([0, 4294967295])],
      ['int64', [-5, '9223372036854775807'], new BigInt64Array([-5n, 9223372036854775807n])],
      ['uint64', [7, '18446744073709551615'], new BigUint64Array([7n, 18446744073709551615n])],
      ['bool', [true, false], new Uint8Array([1, 0])],
    ];
    for (const [dtype, values, expected] of cases) {
      it(`decodes ${dtype} into a ${(expected as object).constructor.name}`, () => {
        const tensor = decodeX(dtype, [-1], values);
        assert.equal(tensor.dtype, dtype);
        assert.deepEqual(tensor.dims, [2]);
        assert.equal(tensor.data.constructor, (expected as object).constructor);
        assert.deepEqual(tensor.data, expected);
      });
    }

    it('decodes string into a plain string[]', () => {
      const tensor = decodeX(
        'string',
        [-1, 2],
        [
          ['a', 'b'],
          ['', 'é'],
        ],
      );
      assert.ok(Array.isArray(tensor.data));
      assert.deepEqual(tensor.data, ['a', 'b', '', 'é']);
      assert.deepEqual(tensor.dims, [2, 2]);
    });

    it('decodes several inputs of different dtypes in one call', () => {
      const tensors = decodeInputs(
        [spec('ids', 'int64', [-1, 2]), spec('mask', 'bool', [-1, 2])],
        { ids: [[1, '2']], mask: [[true, false]] },
        BIG,
      );
      assert.deepEqual(tensors, {
        ids: { dtype: 'int64', dims: [1, 2], data: new BigInt64Array([1n, 2n]) },
        mask: { dtype: 'bool', dims: [1, 2], data: new Uint8Array([1, 0]) },
      });
    });
  });

  describe('{shape, data} form', () => {
    const equivalents: Array<[TensorDtype, number[], unknown, { shape: number[]; data: unknown[] }]> = [
      [
        'float32',
        [-1, 3],
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      ],
      ['int64', [-1], [1, '-9223372036854775808'], { shape: [2], data: [1, '-9223372036854775808'] }],
      ['bool', [2, 1], [[true], [false]], { shape: [2, 1], data: [true, false] }],
      ['string', [-1], ['x', 'y'], { shape: [2], data: ['x', 'y'] }],
      ['float32', [], 2.5, { shape: [], data: [2.5] }],
    ];
    for (const [dtype, shape, nested, explicit] of equivalents) {
      it(`gives exactly the same ${dtype} tensor as the nested form (shape [${explicit.shape.join(', ')}])`, () => {
        const fromNested = decodeX(dtype, shape, nested);
        const fromExplicit = decodeX(dtype, shape, explicit);
        assert.deepEqual(fromExplicit, fromNested);
        assert.equal(fromExplicit.data.constructor, fromNested.data.constructor);
        assert.deepEqual(fromExplicit.dims, explicit.shape);
      });
    }

    it('accepts a dtype that matches the signature', () => {
      const tensor = decodeX('float32', [-1], { shape: [2], data: [1, 2], dtype: 'float32' });
      assert.deepEqual(tensor, { dtype: 'float32', dims: [2], data: new Float32Array([1, 2]) });
    });

    it('rejects a dtype that differs from the signature', () => {
      assert.equal(
        problemForX('float32', [-1], { shape: [2], data: [1, 2], dtype: 'float64' }),
        'was sent as "float64" but the model expects float32',
      );
    });

    it('accepts a 0-size batch: {shape: [0, 4], data: []}', () => {
      const tensor = decodeX('float32', [-1, 4], { shape: [0, 4], data: [] });
      assert.deepEqual(tensor.dims, [0, 4]);
      assert.ok(tensor.data instanceof Float32Array);
      assert.equal(tensor.data.length, 0);
    });

    it('rejects an element count that does not match the shape', () => {
      assert.equal(
        problemForX('float32', [-1, 4], { shape: [2, 4], data: [1, 2, 3, 4, 5, 6] }),
        'has 6 values but shape [2, 4] needs 8',
      );
    });

    it('checks the explicit shape against the signature', () => {
      assert.equal(
        problemForX('float32', [-1, 4], { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }),
        'has shape [2, 3] but the model expects [-1, 4]: dimension 1 must be 4, got 3',
      );
      assert.equal(
        problemForX('float32', [-1, 4], { shape: [8], data: [1, 2, 3, 4, 5, 6, 7, 8] }),
        'has rank 1 (shape [8]) but the model expects rank 2 ([-1, 4])',
      );
    });

    it('rejects negative, fractional and non-numeric dimensions in the explicit shape', () => {
      for (const shape of [
        [-1, 4],
        [1.5, 4],
        ['2', 4],
      ]) {
        assert.match(
          problemForX('float32', [-1, 4], { shape, data: [] }),
          /^has an invalid shape \[.*\]: dimensions must be non-negative integers$/,
        );
      }
    });

    it('rejects unknown fields, a missing shape and non-array data', () => {
      assert.equal(
        problemForX('float32', [-1], { shape: [1], data: [1], type: 'float32' }),
        'has unknown fields type; use {shape, data, dtype?}',
      );
      assert.equal(problemForX('float32', [-1], { data: [1] }), 'needs "shape", an array of integers, next to "data"');
      assert.equal(problemForX('float32', [-1], { shape: [1], data: 1 }), 'needs "data", a flat row-major array');
    });

    it('rejects an object that is neither a tensor nor {shape, data}', () => {
      assert.equal(
        problemForX('float32', [-1], { shape: [1], values: [1] }),
        'must be a nested array, a scalar, or {shape, data}',
      );
    });
  });

  describe('scalars and dynamic dimensions', () => {
    it('decodes a bare number for a rank-0 spec into dims [] and one element', () => {
      const tensor = decodeX('float32', [], 2.5);
      assert.deepEqual(tensor.dims, []);
      assert.deepEqual(tensor.data, new Float32Array([2.5]));
    });

    it('decodes bare scalars of other dtypes (int64 string, bool, string)', () => {
      assert.deepEqual(decodeX('int64', [], '-42').data, new BigInt64Array([-42n]));
      assert.deepEqual(decodeX('bool', [], true).data, new Uint8Array([1]));
      assert.deepEqual(decodeX('string', [], 'hi').data, ['hi']);
    });

    it('rejects a one-element array for a rank-0 spec, and a bare number for a rank-1 spec', () => {
      assert.equal(problemForX('float32', [], [2.5]), 'has rank 1 (shape [1]) but the model expects rank 0 ([])');
      assert.equal(problemForX('float32', [3], 2.5), 'has rank 0 (shape []) but the model expects rank 1 ([3])');
    });

    it('accepts any size for -1 dimensions', () => {
      assert.deepEqual(decodeX('float32', [-1, 4], [[1, 2, 3, 4]]).dims, [1, 4]);
      const five = Array.from({ length: 5 }, () => [0, 0, 0, 0]);
      assert.deepEqual(decodeX('float32', [-1, 4], five).dims, [5, 4]);
      assert.deepEqual(decodeX('float32', [-1, -1], [[1, 2, 3]]).dims, [1, 3]);
      assert.deepEqual(decodeX('float32', [-1, -1], [[], []]).dims, [2, 0]);
    });

    it('rejects an empty nested array [] for shape [-1, 4]: it infers shape [0] (rank 1), so a 0-size batch needs {shape: [0, 4], data: []}', () => {
      assert.equal(
        problemForX('float32', [-1, 4], []),
        'has rank 1 (shape [0]) but the model expects rank 2 ([-1, 4])',
      );
    });

    it('accepts an empty nested array [] for shape [-1] as a 0-size tensor', () => {
      const tensor = decodeX('float32', [-1], []);
      assert.deepEqual(tensor.dims, [0]);
      assert.equal(tensor.data.length, 0);
    });
  });

  describe('shape errors', () => {
    it('reports a missing input with its expected dtype and shape', () => {
      const detail = oneProblem([spec('x', 'float32', [-1, 4]), spec('y', 'int64', [2])], { x: [[1, 2, 3, 4]] });
      assert.deepEqual(detail, { field: 'inputs.y', problem: 'is missing: the model expects int64 [2]' });
    });

    it('reports an unknown input and lists the real ones', () => {
      const detail = oneProblem([spec('x', 'float32', [-1]), spec('y', 'float32', [-1])], { x: [1], y: [2], z: [3] });
      assert.deepEqual(detail, { field: 'inputs.z', problem: 'is not an input of this model; its inputs are x, y' });
      const error = catchInvalid(() => decodeInputs([spec('x', 'float32', [-1])], { x: [1], z: [3] }, BIG));
      assert.equal(error.message, 'inputs.z is not an input of this model; its inputs are x');
    });

    it('rejects a ragged nested array', () => {
      assert.equal(
        problemForX(
          'float32',
          [-1, 4],
          [
            [1, 2, 3, 4],
            [1, 2, 3],
          ],
        ),
        'is not rectangular: the value[1] has 3 elements, expected 4',
      );
    });

    it('rejects a scalar where an array is expected', () => {
      assert.equal(
        problemForX('float32', [-1, 4], [[1, 2, 3, 4], 5]),
        'is not rectangular: the value[1] is a scalar, expected an array of 4',
      );
    });

    it('rejects an array where a scalar is expected', () => {
      assert.equal(
        problemForX('float32', [-1], [1, [2]]),
        'is not rectangular: the value[1] is an array, expected a scalar',
      );
      assert.equal(
        problemForX(
          'float32',
          [-1, 2],
          [
            [1, 2],
            [3, [4]],
          ],
        ),
        'is not rectangular: the value[1][1] is an array, expected a scalar',
      );
    });

    it('rejects a wrong rank', () => {
      assert.equal(
        problemForX('float32', [-1, 4], [1, 2, 3, 4]),
        'has rank 1 (shape [4]) but the model expects rank 2 ([-1, 4])',
      );
    });

    it('rejects a fixed dimension mismatch, naming expected and got', () => {
      assert.equal(
        problemForX('float32', [-1, 4], [[1, 2, 3]]),
        'has shape [1, 3] but the model expects [-1, 4]: dimension 1 must be 4, got 3',
      );
      assert.equal(
        problemForX(
          'float32',
          [2, 3],
          [
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
          ],
        ),
        'has shape [3, 3] but the model expects [2, 3]: dimension 0 must be 2, got 3',
      );
    });

    it('names the input in both message and details[].field', () => {
      const error = catchInvalid(() =>
        decodeInputs([spec('pixel_values', 'float32', [-1, 4])], { pixel_values: [[1, 2, 3]] }, BIG),
      );
      assert.match(error.message, /^inputs\.pixel_values has shape \[1, 3\]/);
      assert.equal(error.details?.[0]?.field, 'inputs.pixel_values');
    });

    it('uses a custom field prefix', () => {
      const error = catchInvalid(() => decodeInputs([spec('x', 'float32', [-1])], { x: ['a'] }, BIG, 'instances[3]'));
      assert.deepEqual(error.details, [
        { field: 'instances[3].x', problem: 'value "a" at flat index 0 is not representable as float32' },
      ]);
    });
  });

  describe('values that are not representable', () => {
    const rejected: Array<[TensorDtype, unknown, string]> = [
      ['int32', 1.5, 'value 1.5 at flat index 0 is not representable as int32'],
      ['int32', 2147483648, 'value 2147483648 at flat index 0 is not representable as int32'],
      ['uint8', 300, 'value 300 at flat index 0 is not representable as uint8'],
      ['uint8', -1, 'value -1 at flat index 0 is not representable as uint8'],
      ['int8', 128, 'value 128 at flat index 0 is not representable as int8'],
      ['uint32', -1, 'value -1 at flat index 0 is not representable as uint32'],
      ['int32', '5', 'value "5" at flat index 0 is not representable as int32'],
      ['float32', 'abc', 'value "abc" at flat index 0 is not representable as float32'],
      ['float32', true, 'value true at flat index 0 is not representable as float32'],
      ['float32', null, 'value null at flat index 0 is not representable as float32'],
      ['float32', 1e39, 'value 1e+39 at flat index 0 is not representable as float32'],
      ['float32', -1e39, 'value -1e+39 at flat index 0 is not representable as float32'],
      ['float64', '1', 'value "1" at flat index 0 is not representable as float64'],
      [
        'int64',
        2 ** 60,
        'value 1152921504606847000 at flat index 0 is not representable as int64 (a number past 2^53 may already be rounded; send it as a decimal string)',
      ],
      [
        'int64',
        2 ** 53,
        'value 9007199254740992 at flat index 0 is not representable as int64 (a number past 2^53 may already be rounded; send it as a decimal string)',
      ],
      [
        'int64',
        '9223372036854775808',
        'value "9223372036854775808" at flat index 0 is not representable as int64 (its range is -9223372036854775808 to 9223372036854775807)',
      ],
      [
        'int64',
        '-9223372036854775809',
        'value "-9223372036854775809" at flat index 0 is not representable as int64 (its range is -9223372036854775808 to 9223372036854775807)',
      ],
      [
        'int64',
        '12.5',
        'value "12.5" at flat index 0 is not representable as int64 (use a safe integer or a decimal string)',
      ],
      [
        'int64',
        1.5,
        'value 1.5 at flat index 0 is not representable as int64 (use a safe integer or a decimal string)',
      ],
      [
        'int64',
        '1e3',
        'value "1e3" at flat index 0 is not representable as int64 (use a safe integer or a decimal string)',
      ],
      [
        'uint64',
        '18446744073709551616',
        'value "18446744073709551616" at flat index 0 is not representable as uint64 (its range is 0 to 18446744073709551615)',
      ],
      [
        'uint64',
        -1,
        'value -1 at flat index 0 is not representable as uint64 (its range is 0 to 18446744073709551615)',
      ],
      ['bool', 1, 'value 1 at flat index 0 is not representable as bool'],
      ['bool', 'true', 'value "true" at flat index 0 is not representable as bool'],
      ['string', 1, 'value 1 at flat index 0 is not representable as string'],
      ['string', null, 'value null at flat index 0 is not representable as string'],
    ];
    for (const [dtype, value, problem] of rejected) {
      const label = typeof value === 'string' ? JSON.stringify(value) : value === 2 ** 60 ? '2**60' : String(value);
      it(`rejects ${label} for ${dtype}`, () => {
        assert.equal(problemForX(dtype, [-1], [value]), problem);
      });
    }

    it('reports the row-major flat index of the bad value', () => {
      assert.equal(
        problemForX(
          'float32',
          [-1, 2],
          [
            [1, 2],
            [3, 'x'],
          ],
        ),
        'value "x" at flat index 3 is not representable as float32',
      );
    });

    it('truncates long values in the message', () => {
      const problem = problemForX('float32', [-1], ['a'.repeat(100)]);
      assert.equal(problem, `value "${'a'.repeat(39)}… at flat index 0 is not representable as float32`);
    });

    it('accepts int64 bounds as decimal strings and safe integers as numbers', () => {
      const tensor = decodeX(
        'int64',
        [-1],
        ['9223372036854775807', '-9223372036854775808', Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, '0'],
      );
      assert.deepEqual(
        tensor.data,
        new BigInt64Array([9223372036854775807n, -9223372036854775808n, 9007199254740991n, -9007199254740991n, 0n]),
      );
    });

    it('accepts the float32 range up to ±3.4e38', () => {
      const data = decodeX('float32', [-1], [3.4e38, -3.4e38, 1e-50]).data as Float32Array;
      assert.equal(data[0], Math.fround(3.4e38));
      assert.equal(data[1], Math.fround(-3.4e38));
      assert.equal(data[2], 0);
    });

    it('accepts 3.4028235e38, the shortest spelling of float32 max (Rust/Java clients), which rounds to it', () => {
      assert.equal(Math.fround(3.4028235e38), 3.4028234663852886e38);
      assert.equal(Math.fround(3.4028236e38), Infinity);
      assert.equal(
        problemForX('float32', [-1], [3.4028236e38]),
        'value 3.4028236e+38 at flat index 0 is not representable as float32',
      );
      const data = decodeX('float32', [-1], [3.4028235e38, -3.4028235e38]).data as Float32Array;
      assert.deepEqual(Array.from(data), [3.4028234663852886e38, -3.4028234663852886e38]);
    });

    it('rejects a dtype the JSON codec does not support (float16)', () => {
      assert.equal(
        problemForX('float16', [-1], [1]),
        'has dtype float16, which predictions over JSON do not support yet',
      );
    });
  });

  describe('several problems and bad request bodies', () => {
    it('reports every problem at once, each naming its input', () => {
      const error = catchInvalid(() =>
        decodeInputs(
          [spec('a', 'float32', [-1, 2]), spec('b', 'int32', [2]), spec('c', 'bool', [1]), spec('d', 'string', [1])],
          { a: [[1, 2], [3]], b: [1.5, 2], d: ['ok'], e: 1 },
          BIG,
        ),
      );
      assert.equal(error.kind, 'invalid');
      assert.equal(STATUS_BY_KIND[error.kind], 400);
      assert.equal(error.name, 'InvalidInputError');
      const details = error.details ?? [];
      assert.equal(details.length, 4, error.message);
      const byField = new Map(details.map((d) => [d.field, d.problem]));
      assert.deepEqual([...byField.keys()].sort(), ['inputs.a', 'inputs.b', 'inputs.c', 'inputs.e']);
      assert.equal(byField.get('inputs.a'), 'is not rectangular: the value[1] has 1 elements, expected 2');
      assert.equal(byField.get('inputs.b'), 'value 1.5 at flat index 0 is not representable as int32');
      assert.equal(byField.get('inputs.c'), 'is missing: the model expects bool [1]');
      assert.equal(byField.get('inputs.e'), 'is not an input of this model; its inputs are a, b, c, d');
      for (const { field, problem } of details) assert.ok(error.message.includes(`${field} ${problem}`));
      assert.equal(error.message, details.map((d) => `${d.field} ${d.problem}`).join('; '));
    });

    for (const [label, inputs] of [
      ['an array', [[1, 2]]],
      ['null', null],
      ['a string', 'x'],
      ['a number', 3],
      ['undefined', undefined],
    ] as Array<[string, unknown]>) {
      it(`rejects inputs that are ${label}`, () => {
        const error = catchInvalid(() => decodeInputs([spec('x', 'float32', [-1])], inputs, BIG));
        assert.equal(error.message, 'inputs must be an object mapping input names to tensors');
        assert.deepEqual(error.details, [{ field: 'inputs', problem: 'must be an object' }]);
      });
    }

    it('names a custom field when inputs are not an object', () => {
      const error = catchInvalid(() => decodeInputs([], [], BIG, 'instances[0]'));
      assert.equal(error.message, 'instances[0] must be an object mapping input names to tensors');
      assert.deepEqual(error.details, [{ field: 'instances[0]', problem: 'must be an object' }]);
    });
  });

  describe('MAX_TENSOR_ELEMENTS budget', () => {
    const specs = [spec('x', 'float32', [-1, 4]), spec('y', 'float32', [-1, 4])];
    const twoRows = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ];

    it('accepts a request using exactly maxElements across inputs', () => {
      const tensors = decodeInputs(specs, { x: twoRows, y: { shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] } }, 16);
      assert.deepEqual(Object.keys(tensors).sort(), ['x', 'y']);
    });

    it('rejects a request whose inputs together exceed maxElements', () => {
      const detail = oneProblem(specs, { x: twoRows, y: twoRows }, 15);
      assert.deepEqual(detail, { field: 'inputs.y', problem: 'makes the request exceed MAX_TENSOR_ELEMENTS' });
    });

    it('counts the {shape, data} form against the same budget', () => {
      const detail = oneProblem(specs, { x: twoRows, y: { shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] } }, 15);
      assert.deepEqual(detail, { field: 'inputs.y', problem: 'makes the request exceed MAX_TENSOR_ELEMENTS' });
    });

    it('rejects a single input larger than maxElements', () => {
      assert.deepEqual(oneProblem([spec('x', 'float32', [-1, 4])], { x: twoRows }, 7), {
        field: 'inputs.x',
        problem: 'makes the request exceed MAX_TENSOR_ELEMENTS',
      });
    });
  });

  describe('input names that collide with Object.prototype', () => {
    it('reports an input named toString as missing when the request omits it', () => {
      const detail = oneProblem([spec('toString', 'float32', [1])], JSON.parse('{}'));
      assert.deepEqual(detail, { field: 'inputs.toString', problem: 'is missing: the model expects float32 [1]' });
    });

    it('returns an input named __proto__ as an own property of the result', () => {
      const tensors = decodeInputs([spec('__proto__', 'float32', [-1])], JSON.parse('{"__proto__": [1, 2]}'), BIG);
      assert.ok(Object.hasOwn(tensors, '__proto__'), 'the decoded tensor must be an own property');
      assert.deepEqual(Object.keys(tensors), ['__proto__']);
    });
  });
});

describe('encodeTensor', () => {
  it('returns float32 data as plain numbers, with shape = dims', () => {
    const encoded = encodeTensor({ dtype: 'float32', dims: [2, 2], data: new Float32Array([0.5, 1, -2, 0.1]) });
    assert.deepEqual(encoded, { dtype: 'float32', shape: [2, 2], data: [0.5, 1, -2, Math.fround(0.1)] });
    assert.ok(Array.isArray(encoded.data));
  });

  it('returns int64 values within ±(2^53-1) as numbers and beyond as decimal strings', () => {
    const encoded = encodeTensor({
      dtype: 'int64',
      dims: [7],
      data: new BigInt64Array([
        0n,
        9007199254740991n,
        -9007199254740991n,
        9007199254740992n,
        -9007199254740992n,
        9223372036854775807n,
        -9223372036854775808n,
      ]),
    });
    assert.deepEqual(encoded, {
      dtype: 'int64',
      shape: [7],
      data: [
        0,
        9007199254740991,
        -9007199254740991,
        '9007199254740992',
        '-9007199254740992',
        '9223372036854775807',
        '-9223372036854775808',
      ],
    });
  });

  it('returns large uint64 values as decimal strings', () => {
    const encoded = encodeTensor({
      dtype: 'uint64',
      dims: [3],
      data: new BigUint64Array([5n, 9007199254740992n, 18446744073709551615n]),
    });
    assert.deepEqual(encoded.data, [5, '9007199254740992', '18446744073709551615']);
  });

  it('returns bool data as booleans (any non-zero byte is true)', () => {
    const encoded = encodeTensor({ dtype: 'bool', dims: [3], data: new Uint8Array([0, 1, 2]) });
    assert.deepEqual(encoded, { dtype: 'bool', shape: [3], data: [false, true, true] });
  });

  it('passes strings through', () => {
    const encoded = encodeTensor({ dtype: 'string', dims: [1, 2], data: ['a', 'ü'] });
    assert.deepEqual(encoded, { dtype: 'string', shape: [1, 2], data: ['a', 'ü'] });
  });

  it('returns other integer types as numbers and keeps uint8 data numeric', () => {
    assert.deepEqual(encodeTensor({ dtype: 'int32', dims: [2], data: new Int32Array([-7, 7]) }).data, [-7, 7]);
    assert.deepEqual(encodeTensor({ dtype: 'uint8', dims: [2], data: new Uint8Array([0, 255]) }).data, [0, 255]);
    assert.deepEqual(encodeTensor({ dtype: 'int8', dims: [1], data: new Int8Array([-128]) }).data, [-128]);
  });

  it('encodes a scalar with shape []', () => {
    assert.deepEqual(encodeTensor({ dtype: 'float64', dims: [], data: new Float64Array([0.1]) }), {
      dtype: 'float64',
      shape: [],
      data: [0.1],
    });
  });

  it('round-trips decoded int64 inputs: small values as numbers, large ones as the same strings', () => {
    const { x } = decodeInputs([spec('x', 'int64', [-1])], { x: ['9223372036854775807', 42, '-17'] }, BIG);
    assert.deepEqual(encodeTensor(x), { dtype: 'int64', shape: [3], data: ['9223372036854775807', 42, -17] });
  });
});

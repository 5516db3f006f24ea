import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import { asParsedJson, resultOrClientError, runs } from '../../test/fuzz/property-support';
import { inputsFor, schemaGap } from '../../test/fuzz/prediction-schema-bodies';
import { BIGINT_RANGES, decodeInputs, DECIMAL_INTEGER, writerFor } from '../inference/tensor-codec';
import { allocateTensorData } from '../inference/tensor';
import type { TensorDtype, TensorSpec } from '../inference/tensor-spec';
import { decimalRangePattern, itemSchema, JsonSchema, predictionRequestSchema } from './prediction-request-schema';

const MAX_ELEMENTS = 10_000;

/** Strict: an unknown keyword or a keyword on the wrong type fails the compile. */
const ajv = new Ajv2020({ strict: true });

const validator = (schema: JsonSchema) => ajv.compile(schema);

/** A validator of `inputs` alone, through the whole body's schema for a signature. */
function inputsValidator(specs: TensorSpec[]): (inputs: unknown) => boolean {
  const valid = validator(predictionRequestSchema({ model: 'm', version: 1, inputs: specs, outputs: specs }));
  return (inputs) => valid({ model: 'm', inputs });
}

const VALUE_DTYPES = [
  'float32',
  'float64',
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
] as const satisfies readonly TensorDtype[];

/** Values at and past every dtype's limits, and of every JSON type. */
const EDGE_VALUES: unknown[] = [
  0,
  -0,
  1,
  -1,
  1.5,
  127,
  128,
  -128,
  -129,
  255,
  256,
  32767,
  32768,
  -32768,
  -32769,
  65535,
  65536,
  2147483647,
  2147483648,
  -2147483648,
  -2147483649,
  4294967295,
  4294967296,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53) + 1,
  -(2 ** 53),
  3.4028234663852886e38,
  3.4028235677973362e38,
  3.4028235677973366e38,
  -3.4028235677973366e38,
  1e308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Infinity,
  -Infinity,
  5e-324,
  '0',
  '-0',
  '-00',
  '1',
  '+1',
  '1.0',
  ' 1',
  '',
  'x',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '-9223372036854775809',
  '18446744073709551615',
  '18446744073709551616',
  '00000000000000000001',
  '000000000000000000001',
  '09223372036854775807',
  '-09223372036854775808',
  true,
  false,
  null,
  [],
  [1],
  {},
];

function writerAccepts(dtype: TensorDtype, value: unknown): boolean {
  try {
    writerFor(dtype, allocateTensorData(dtype, 1))(value, 0);
    return true;
  } catch {
    return false;
  }
}

/** A signature: 1-3 inputs of rank 0-3, dynamic or fixed (0 included) dimensions, some shared names. */
const signature: fc.Arbitrary<TensorSpec[]> = fc.uniqueArray(
  fc
    .record({
      name: fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/), fc.constantFrom('constructor', 'x', 'input.1')),
      dtype: fc.constantFrom<TensorDtype>(...VALUE_DTYPES, 'float16'),
      dims: fc.array(fc.oneof(fc.constantFrom(-1, -1, -2), fc.integer({ min: 0, max: 3 })), { maxLength: 3 }),
    })
    .map(({ name, dtype, dims }) => ({
      name,
      dtype,
      // -2: a dynamic dimension named `batch`, shared with other inputs that have one.
      shape: dims.map((d) => (d === -2 ? -1 : d)),
      dimNames: dims.map((d) => (d === -2 ? 'batch' : null)),
    })),
  { selector: (s) => s.name, minLength: 1, maxLength: 3 },
);

const MLP = {
  model: 'iris',
  version: 2,
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4], dimNames: ['batch', null] }],
  outputs: [
    { name: 'y', dtype: 'float32', shape: [-1, 3] },
    { name: 'label', dtype: 'int64', shape: [-1] },
  ],
} satisfies Parameters<typeof predictionRequestSchema>[0];

describe('predictionRequestSchema', () => {
  it('is a strict 2020-12 schema of the whole body: model, version, inputs, outputs and nothing else', () => {
    const schema = predictionRequestSchema(MLP) as Record<string, unknown>;
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const valid = validator(schema);
    const x = [[1, 2, 3, 4]];
    assert.ok(valid({ model: 'iris', inputs: { x } }));
    assert.ok(valid({ model: 'iris', version: 7, inputs: { x }, outputs: ['label', 'y'] }));
    assert.ok(valid({ model: 'iris', version: 'champion', inputs: { x } }), 'an alias');
    assert.ok(valid({ model: 'iris', version: 'latest', inputs: { x } }), 'the latest, by name');
    assert.ok(valid({ model: 'iris', inputs: { x: { shape: [1, 4], data: [1, 2, 3, 4], dtype: 'float32' } } }));
    const invalid: unknown[] = [
      { model: 'other', inputs: { x } },
      { inputs: { x } },
      { model: 'iris' },
      { model: 'iris', inputs: { x }, priority: 1 },
      { model: 'iris', version: 0, inputs: { x } },
      { model: 'iris', version: 'Champion', inputs: { x } },
      { model: 'iris', version: '2', inputs: { x } },
      { model: 'iris', inputs: { x }, outputs: [] },
      { model: 'iris', inputs: { x }, outputs: ['y', 'y'] },
      { model: 'iris', inputs: { x }, outputs: ['z'] },
      { model: 'iris', inputs: { x, z: x } },
      { model: 'iris', inputs: {} },
      { model: 'iris', inputs: { x: [[1, 2, 3]] } },
      { model: 'iris', inputs: { x: [1, 2, 3, 4] } },
      { model: 'iris', inputs: { x: [] } },
      { model: 'iris', inputs: { x: { shape: [1, 4], data: [1, 2, 3, 4], dtype: 'float64' } } },
      { model: 'iris', inputs: { x: { shape: [4], data: [1, 2, 3, 4] } } },
      { model: 'iris', inputs: { x: { shape: [1, 4], data: [1, 2, 3, 4], order: 'C' } } },
    ];
    for (const body of invalid) assert.equal(valid(body), false, JSON.stringify(body));
  });

  it('names the checks it cannot state in its description, shared symbolic dimensions included', () => {
    const { description } = predictionRequestSchema({
      ...MLP,
      inputs: [MLP.inputs[0], { name: 'mask', dtype: 'bool', shape: [-1, 4], dimNames: ['batch', null] }],
    }) as { description: string };
    assert.match(description, /rectangular/);
    assert.match(description, /product of shape/);
    assert.match(description, /MAX_TENSOR_ELEMENTS/);
    assert.match(description, /same size in every input: batch\./);
    assert.doesNotMatch((predictionRequestSchema(MLP) as { description: string }).description, /same size/);
  });

  it('refuses every value of a float16 input, saying why, as the server does', () => {
    const specs: TensorSpec[] = [{ name: 'h', dtype: 'float16', shape: [-1] }];
    const schema = predictionRequestSchema({ ...MLP, inputs: specs }) as { properties: { inputs: JsonSchema } };
    assert.match(JSON.stringify(schema.properties.inputs), /float16 inputs are refused/);
    const valid = inputsValidator(specs);
    for (const value of [[1], { shape: [1], data: [1] }, { shape: [1], data: [1], dtype: 'float16' }, 1]) {
      assert.equal(valid({ h: value }), false);
    }
    assert.throws(
      () => decodeInputs([{ name: 'h', dtype: 'float16', shape: [-1] }], { h: [1] }, MAX_ELEMENTS),
      /float16/,
    );
  });

  it("has no nested form when a dimension above the last is fixed at 0 (the server's read stops there)", () => {
    const spec: TensorSpec = { name: 'e', dtype: 'float32', shape: [2, 0, 3] };
    const valid = inputsValidator([spec]);
    assert.equal(valid({ e: [[], []] }), false);
    assert.ok(valid({ e: { shape: [2, 0, 3], data: [] } }));
    assert.ok(resultOrClientError(() => decodeInputs([spec], { e: { shape: [2, 0, 3], data: [] } }, MAX_ELEMENTS)));
    assert.equal(
      resultOrClientError(() => decodeInputs([spec], { e: [[], []] }, MAX_ELEMENTS)),
      undefined,
    );
  });

  it("takes exactly the values tensor-codec's writer takes, for every dtype", () => {
    for (const dtype of VALUE_DTYPES) {
      const valid = validator(itemSchema(dtype));
      for (const value of EDGE_VALUES) {
        assert.equal(valid(value), writerAccepts(dtype, value), `${dtype} ${String(value)}`);
      }
    }
  });

  it('states the 64-bit ranges of decimal strings exactly', () => {
    for (const [dtype, [min, max]] of Object.entries(BIGINT_RANGES) as [string, [bigint, bigint]][]) {
      const pattern = new RegExp(decimalRangePattern(min, max), 'u');
      const near = (bound: bigint) => fc.bigInt({ min: bound - 1000n, max: bound + 1000n });
      const text = fc.oneof(
        fc.oneof(near(min), near(max), near(0n), fc.bigInt({ min: min * 2n, max: max * 2n })).map(String),
        fc.tuple(fc.constantFrom('', '-'), fc.stringMatching(/^0{0,3}[0-9]{1,20}$/)).map(([s, d]) => s + d),
      );
      fc.assert(
        fc.property(text, (value) => {
          const expected = DECIMAL_INTEGER.test(value) && BigInt(value) >= min && BigInt(value) <= max;
          assert.equal(DECIMAL_INTEGER.test(value) && pattern.test(value), expected, `${dtype} ${value}`);
        }),
        runs(2000),
      );
    }
  });

  it("agrees with the server's decode on generated inputs for generated signatures, but for the gaps it names", () => {
    const verdicts = { accepted: 0, refused: 0, gaps: 0 };
    fc.assert(
      fc.property(
        signature.chain((specs) => inputsFor(specs).map((generated) => ({ specs, generated }))),
        ({ specs, generated }) => {
          const inputs = asParsedJson(generated.inputs);
          const server = resultOrClientError(() => decodeInputs(specs, inputs, MAX_ELEMENTS)) !== undefined;
          // The gaps are server checks: a body in one is refused, whatever the schema says.
          const gap = schemaGap(specs, inputs);
          if (gap) {
            verdicts.gaps++;
            assert.equal(server, false, `${gap}: ${JSON.stringify(inputs)}`);
            return;
          }
          verdicts[server ? 'accepted' : 'refused']++;
          assert.equal(inputsValidator(specs)(inputs), server, `${generated.label}: ${JSON.stringify(inputs)}`);
        },
      ),
      runs(600),
    );
    // Both verdicts are common and the gaps occur, so the agreement says something.
    assert.ok(verdicts.accepted > 100 && verdicts.refused > 100 && verdicts.gaps > 0, JSON.stringify(verdicts));
  });
});

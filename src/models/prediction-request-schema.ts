import { BIGINT_RANGES, DECIMAL_INTEGER, INTEGER_RANGES } from '../inference/tensor-codec';
import type { TensorDtype, TensorSpec } from '../inference/tensor-spec';
import { ALIAS_PATTERN, MAX_VERSION_NUMBER } from './version-ref';
import { MAX_OUTPUTS } from '../inference/predict-envelope';

/** A JSON Schema (2020-12) object; `false` where nothing is valid. */
export type JsonSchema = false | { [keyword: string]: unknown };

/** The dtypes predictions over JSON take (float16 is refused). */
type ValueDtype = Exclude<TensorDtype, 'float16'>;

/** What a request schema is generated from: a version and its signature. */
export interface SchemaSource {
  model: string;
  version: number;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
/**
 * The smallest magnitude Math.fround turns into Infinity (2^128 - 2^103, halfway between the
 * largest float32 and 2^128): the server takes a float32 value when it rounds to a finite one.
 */
const FLOAT32_LIMIT = 2 ** 128 - 2 ** 103;

const FLOAT16_REFUSED =
  'float16 inputs are refused: predictions over JSON do not support float16 yet, so no request to this version is valid';

/**
 * A JSON Schema (2020-12) of a POST /api/v1/predictions body for one version, generated from its
 * signature: both input forms the server reads (nested arrays and {shape, data, dtype?}), fixed
 * dimensions exactly, dynamic ones as any size, each dtype's values as the server takes them.
 */
export function predictionRequestSchema(source: SchemaSource): JsonSchema {
  return {
    $schema: DRAFT_2020_12,
    title: `Prediction request for ${source.model} version ${source.version}`,
    description: description(source),
    type: 'object',
    required: ['model', 'inputs'],
    additionalProperties: false,
    $defs: valueSchemas(source.inputs),
    properties: {
      model: { const: source.model },
      version: {
        description:
          "A version number, an alias or `latest`; omit it to follow the model's traffic policy (the latest ready version without one)",
        anyOf: [
          { type: 'integer', minimum: 1, maximum: MAX_VERSION_NUMBER },
          // Alias names; `latest` (which matches the pattern) names the latest ready version.
          { type: 'string', pattern: ALIAS_PATTERN.source },
        ],
      },
      inputs: {
        type: 'object',
        required: source.inputs.map((spec) => spec.name),
        additionalProperties: false,
        properties: Object.fromEntries(source.inputs.map((spec) => [spec.name, inputSchema(spec)])),
      },
      outputs: {
        description: 'The outputs to return; omit it for all of them',
        type: 'array',
        minItems: 1,
        maxItems: MAX_OUTPUTS,
        uniqueItems: true,
        items: { enum: source.outputs.map((spec) => spec.name) },
      },
    },
  };
}

/**
 * What the schema says in words: where the server checks more than a JSON Schema can state. A
 * validator's verdict equals the server's on every body but ones these describe (the agreement
 * tests leave exactly those out).
 */
function description(source: SchemaSource): string {
  const shared = sharedDimensions(source.inputs);
  const gaps = [
    ...(shared.length > 0
      ? [`Dimensions with the same symbolic name have the same size in every input: ${shared.join(', ')}.`]
      : []),
    'Nested arrays must be rectangular: arrays at the same depth have the same length, which this schema states only for fixed dimensions.',
    'In the {shape, data} form, data holds exactly as many values as the product of shape, which this schema states only when every dimension is fixed.',
    'All inputs together hold at most MAX_TENSOR_ELEMENTS values (a server setting) and the body at most MAX_JSON_BODY_BYTES.',
    `version may name any version or alias of the model (an unknown one answers 404); this schema describes the inputs of version ${source.version}.`,
  ];
  return `The body of POST /api/v1/predictions for ${source.model} version ${source.version}. Not stated here: ${gaps.join(' ')}`;
}

/** Symbolic dimension names used at more than one place (checkSharedDims compares them). */
function sharedDimensions(specs: readonly TensorSpec[]): string[] {
  const uses = new Map<string, number>();
  for (const spec of specs) {
    for (const name of spec.dimNames ?? []) if (name) uses.set(name, (uses.get(name) ?? 0) + 1);
  }
  return [...uses].filter(([, count]) => count > 1).map(([name]) => name);
}

/** The value schemas of the input dtypes, by dtype, for the inputs' `$ref`s. */
function valueSchemas(specs: readonly TensorSpec[]): Record<string, JsonSchema> {
  const dtypes = new Set(specs.map((spec) => spec.dtype));
  dtypes.delete('float16');
  return Object.fromEntries([...dtypes].map((dtype) => [dtype, itemSchema(dtype as ValueDtype)]));
}

/** One input: its nested-array form or its {shape, data, dtype?} form; values are `$defs` refs. */
function inputSchema(spec: TensorSpec): JsonSchema {
  const label = `${spec.dtype} [${spec.shape.join(', ')}]`;
  if (spec.dtype === 'float16') return { description: `${label}: ${FLOAT16_REFUSED}`, not: {} };
  const item = { $ref: `#/$defs/${spec.dtype}` };
  const forms = [nestedSchema(spec.shape, item), explicitSchema(spec, item)].filter((form) => form !== false);
  return { description: `${label}, -1 a dynamic dimension`, anyOf: forms };
}

/**
 * Nested arrays as deep as the rank (a bare value at rank 0). The server reads the shape along
 * the first elements, so an empty array above the last level ends the shape early: those levels
 * need an element, and a fixed 0 there leaves no nested form at all.
 */
function nestedSchema(shape: readonly number[], item: JsonSchema): JsonSchema {
  let schema = item;
  for (let level = shape.length - 1; level >= 0; level--) {
    const dim = shape[level];
    const last = level === shape.length - 1;
    if (dim === 0 && !last) return false;
    const bounds = dim >= 0 ? { minItems: dim, maxItems: dim } : last ? {} : { minItems: 1 };
    schema = { type: 'array', ...bounds, items: schema };
  }
  return schema;
}

/** {shape, data, dtype?}: shape states the rank and fixed dimensions, data is flat. */
function explicitSchema(spec: TensorSpec, item: JsonSchema): JsonSchema {
  const fixed = spec.shape.every((dim) => dim >= 0);
  const count = spec.shape.reduce((product, dim) => product * dim, 1);
  return {
    type: 'object',
    required: ['shape', 'data'],
    additionalProperties: false,
    properties: {
      shape: shapeSchema(spec.shape),
      data: { type: 'array', ...(fixed ? { minItems: count, maxItems: count } : {}), items: item },
      dtype: { const: spec.dtype },
    },
  };
}

/** An explicit shape: the rank, fixed dimensions as constants, dynamic ones any size. */
function shapeSchema(shape: readonly number[]): JsonSchema {
  if (shape.length === 0) return { type: 'array', maxItems: 0 };
  return {
    type: 'array',
    minItems: shape.length,
    maxItems: shape.length,
    prefixItems: shape.map((dim) =>
      dim >= 0 ? { const: dim } : { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    ),
    items: false,
  };
}

/** One value of a dtype, as tensor-codec's writerFor takes it from JSON. */
export function itemSchema(dtype: ValueDtype): JsonSchema {
  if (dtype === 'float32') return { type: 'number', exclusiveMinimum: -FLOAT32_LIMIT, exclusiveMaximum: FLOAT32_LIMIT };
  // JSON.parse reads an overlong exponent as Infinity, which no float64 tensor takes.
  if (dtype === 'float64') return { type: 'number', minimum: -Number.MAX_VALUE, maximum: Number.MAX_VALUE };
  if (dtype === 'bool') return { type: 'boolean' };
  if (dtype === 'string') return { type: 'string' };
  const range = INTEGER_RANGES[dtype];
  if (range) return { type: 'integer', minimum: range[0], maximum: range[1] };
  const [min, max] = BIGINT_RANGES[dtype] as [bigint, bigint];
  return {
    anyOf: [
      // A number past 2^53 may already be rounded: the server wants those as strings.
      {
        type: 'integer',
        minimum: Math.max(Number(min), -Number.MAX_SAFE_INTEGER),
        maximum: Number.MAX_SAFE_INTEGER,
      },
      { type: 'string', allOf: [{ pattern: DECIMAL_INTEGER.source }, { pattern: decimalRangePattern(min, max) }] },
    ],
  };
}

/**
 * A pattern matching the decimal strings (optional sign, leading zeros allowed) whose value lies
 * in [min, max], for min <= 0 <= max. Paired with DECIMAL_INTEGER, which bounds the length.
 */
export function decimalRangePattern(min: bigint, max: bigint): string {
  return `^(?:${atMost(max)})$|^-(?:${atMost(-min)})$`;
}

/** Digit strings whose value is at most `bound` (>= 0). */
function atMost(bound: bigint): string {
  const digits = bound.toString();
  const alternatives: string[] = [];
  // Same length as the bound: a prefix of it, then a smaller digit, then anything.
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[i]);
    if (digit === 0) continue;
    const rest = digits.length - i - 1;
    alternatives.push(`${digits.slice(0, i)}[0-${digit - 1}]${rest > 0 ? `[0-9]{${rest}}` : ''}`);
  }
  alternatives.push(digits);
  const sameLength = `0*(?:${alternatives.join('|')})`;
  // Fewer significant digits than the bound: always smaller.
  return digits.length > 1 ? `[0-9]{1,${digits.length - 1}}|${sameLength}` : sameLength;
}

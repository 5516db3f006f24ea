/**
 * Prediction bodies for one signature, valid and slightly wrong, to hold the generated request
 * schema (src/models/prediction-request-schema.ts) to the server's own verdict. A body starts
 * valid (every input in a random form) and takes up to two mutations: an odd element, a wrong
 * fixed dimension, a rank off by one, a missing or unknown input, a wrong declared dtype, a bad
 * `version` or `outputs`, an extra field.
 */
import fc from 'fast-check';
import { BIGINT_RANGES, INTEGER_RANGES } from '../../src/inference/tensor-codec';
import { TENSOR_DTYPES, TensorDtype, TensorSpec } from '../../src/inference/tensor-spec';
import type { SchemaSource } from '../../src/models/prediction-request-schema';
import { nest } from '../support/reference-run';
import { hostileNumber, Labelled } from './hostile-values';
import { RawJson } from './json-text';

/** Largest size a dynamic dimension gets: bodies stay small, 0 included. */
const MAX_DYNAMIC_SIZE = 3;

const INPUT_MUTATIONS = [
  'element',
  'fixedDim',
  'rankUp',
  'rankDown',
  'missing',
  'unknown',
  'dtype',
  'field',
  // What the schema cannot state (schemaGap):
  'ragged',
  'count',
  'sharedDim',
] as const;
const BODY_MUTATIONS = ['unknownOutput', 'duplicateOutput', 'emptyOutputs', 'extraField', 'badVersion'] as const;
type MutationKind = (typeof INPUT_MUTATIONS)[number] | (typeof BODY_MUTATIONS)[number];

interface Mutation {
  kind: MutationKind;
  /** Picks the input (and element) it applies to. */
  at: number;
  odd: unknown;
}

type Form = 'nested' | 'explicit' | 'typed';

/** A value of the dtype the server accepts. */
function validElement(dtype: TensorDtype): fc.Arbitrary<unknown> {
  const range = INTEGER_RANGES[dtype];
  if (range) return fc.integer({ min: range[0], max: range[1] });
  const bigRange = BIGINT_RANGES[dtype];
  if (bigRange) {
    const [min, max] = bigRange;
    return fc.oneof(
      fc.integer({ min: Math.max(Number(min), -Number.MAX_SAFE_INTEGER), max: Number.MAX_SAFE_INTEGER }),
      fc.bigInt({ min, max }).map(String),
    );
  }
  switch (dtype) {
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ maxLength: 8 });
    case 'float64':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    default:
      return fc.float({ noNaN: true, noDefaultInfinity: true });
  }
}

/** Values some dtype refuses: past a range, of another JSON type, or a raw token (1e400). */
const oddElement: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber.map((labelled) => labelled.value),
  fc.constantFrom<unknown>(
    128,
    -129,
    256,
    -1,
    65536,
    2 ** 31,
    2 ** 32,
    -(2 ** 31) - 1,
    2 ** 53,
    3.4028235677973366e38,
    -3.5e38,
    '9223372036854775808',
    '-9223372036854775809',
    '18446744073709551616',
    '-1',
    '00000000000000000000001',
    '+1',
    '1.0',
    '',
    'x',
    null,
    true,
    {},
    [],
    [1],
  ),
  fc.constantFrom('1e400', '-1e400', '99999999999999999999').map((token) => new RawJson(token)),
);

const mutation = (kinds: readonly MutationKind[]): fc.Arbitrary<Mutation> =>
  fc.record({ kind: fc.constantFrom(...kinds), at: fc.nat(), odd: oddElement });

/** No mutation a third of the time, else one or two. */
const mutations = (kinds: readonly MutationKind[]): fc.Arbitrary<Mutation[]> =>
  fc.oneof(
    fc.constant<Mutation[]>([]),
    fc.array(mutation(kinds), { minLength: 1, maxLength: 2 }),
    fc.constant<Mutation[]>([]),
  );

/** Dimensions of every input: symbolic names share a size, anonymous dynamic ones get their own. */
function dimensions(specs: readonly TensorSpec[]): fc.Arbitrary<number[][]> {
  const size = fc.integer({ min: 0, max: MAX_DYNAMIC_SIZE });
  const names = [...new Set(specs.flatMap((s) => s.dimNames ?? []).filter((n): n is string => !!n))];
  return fc
    .record({
      named: fc.tuple(...names.map(() => size)),
      anonymous: fc.tuple(...specs.map((s) => fc.tuple(...s.shape.map(() => size)))),
    })
    .map(({ named, anonymous }) =>
      specs.map((spec, i) =>
        spec.shape.map((dim, j) => {
          if (dim >= 0) return dim;
          const name = spec.dimNames?.[j];
          return name ? named[names.indexOf(name)] : anonymous[i][j];
        }),
      ),
    );
}

const product = (dims: readonly number[]) => dims.reduce((n, d) => n * d, 1);

/** A fixed (or for `sharedDim` a symbolic) dimension off by one, when the input has one. */
function withWrongDim(spec: TensorSpec, dims: number[], m: Mutation): number[] {
  const which = spec.shape.flatMap((dim, i) => ((m.kind === 'fixedDim' ? dim >= 0 : !!spec.dimNames?.[i]) ? [i] : []));
  if (which.length === 0) return dims;
  const i = which[m.at % which.length];
  return dims.map((d, j) => (j === i ? (d > 0 && m.at % 2 === 0 ? d - 1 : d + 1) : d));
}

function tensor(spec: TensorSpec, dims: number[], flat: unknown[], form: Form): unknown {
  if (form === 'nested') return nest(flat, dims);
  return form === 'typed' ? { shape: dims, data: flat, dtype: spec.dtype } : { shape: dims, data: flat };
}

/** One input changed the way `m` says; undefined removes it. */
function mutateInput(spec: TensorSpec, value: unknown, m: Mutation): unknown {
  const explicit = isExplicit(value);
  const t = value as { shape: number[]; data: unknown[] };
  switch (m.kind) {
    case 'rankUp':
      return explicit ? { ...t, shape: [1, ...t.shape] } : [value];
    case 'rankDown':
      if (explicit && t.shape.length === 1) return { ...t, shape: [], data: t.data.slice(0, 1) };
      if (explicit) return { ...t, shape: [product(t.shape.slice(0, 2)), ...t.shape.slice(2)] };
      return Array.isArray(value) ? value[0] : value;
    case 'ragged':
      if (spec.shape.length < 2 || !Array.isArray(value) || value.length === 0) return value;
      return [...value, [...(value[0] as unknown[]), m.odd]];
    case 'count':
      return explicit ? { ...t, data: [...t.data, m.odd] } : value;
    case 'missing':
      return undefined;
    case 'dtype':
      return explicit ? { ...t, dtype: TENSOR_DTYPES[m.at % TENSOR_DTYPES.length] } : value;
    case 'field':
      return explicit ? { ...t, order: 'C' } : value;
    default:
      return value;
  }
}

/**
 * The `inputs` of a body for `specs`, with the mutations on inputs among `kinds`, as a value that
 * may hold RawJson tokens (write it with toJsonText).
 */
export function inputsFor(specs: readonly TensorSpec[], kinds: readonly MutationKind[] = INPUT_MUTATIONS) {
  return fc
    .record({
      dims: dimensions(specs),
      forms: fc.tuple(...specs.map(() => fc.constantFrom<Form>('nested', 'explicit', 'typed'))),
      mutations: mutations(kinds),
    })
    .chain(({ dims, forms, mutations: applied }) => {
      const shaped = specs.map((spec, i) => {
        const wrong = applied.find((m) => ['fixedDim', 'sharedDim'].includes(m.kind) && m.at % specs.length === i);
        return wrong ? withWrongDim(spec, dims[i], wrong) : dims[i];
      });
      const values = fc.tuple(
        ...specs.map((spec, i) => {
          const count = product(shaped[i]);
          return fc.array(validElement(spec.dtype), { minLength: count, maxLength: count });
        }),
      );
      return values.map((flats) => {
        const inputs: Record<string, unknown> = {};
        specs.forEach((spec, i) => {
          const flat = [...flats[i]];
          for (const m of applied) {
            if (m.kind === 'element' && m.at % specs.length === i && flat.length > 0) flat[m.at % flat.length] = m.odd;
          }
          let value = tensor(spec, shaped[i], flat, forms[i]);
          for (const m of applied) if (m.at % specs.length === i) value = mutateInput(spec, value, m);
          if (value !== undefined) inputs[spec.name] = value;
        });
        if (applied.some((m) => m.kind === 'unknown')) inputs.zz_not_an_input = [1];
        return { inputs, label: applied.map((m) => m.kind).join('+') || 'valid' };
      });
    });
}

/** A whole POST /api/v1/predictions body for a version, labelled with its mutations. */
export function bodyFor(source: SchemaSource): fc.Arbitrary<Labelled<Record<string, unknown>>> {
  const outputNames = source.outputs.map((o) => o.name);
  return fc
    .record({
      inputs: inputsFor(source.inputs),
      version: fc.boolean(),
      outputs: fc.option(fc.subarray(outputNames, { minLength: 1 }), { nil: undefined }),
      mutations: mutations(BODY_MUTATIONS),
    })
    .map(({ inputs, version, outputs, mutations: applied }) => {
      const body: Record<string, unknown> = { model: source.model, inputs: inputs.inputs };
      if (version) body.version = source.version;
      if (outputs) body.outputs = outputs;
      for (const m of applied) {
        if (m.kind === 'unknownOutput') body.outputs = [...(outputs ?? []), 'zz_not_an_output'];
        if (m.kind === 'duplicateOutput') body.outputs = [outputNames[0], outputNames[0]];
        if (m.kind === 'emptyOutputs') body.outputs = [];
        if (m.kind === 'extraField') body.priority = 1;
        if (m.kind === 'badVersion') body.version = [0, -1, 1.5, '1', 2 ** 31, null][m.at % 6];
      }
      const labels = [inputs.label, ...applied.map((m) => m.kind)].filter((l) => l !== 'valid');
      return { value: body, label: labels.join('+') || 'valid' };
    });
}

/**
 * What the server checks that the request schema cannot state (its `description` lists them): an
 * input that is not rectangular, a {shape, data} whose element count differs from its shape, or
 * inputs that disagree on a shared symbolic dimension. Undefined when none applies.
 */
export function schemaGap(specs: readonly TensorSpec[], inputs: unknown): string | undefined {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) return undefined;
  const shapes = new Map<string, number[]>();
  for (const [name, value] of Object.entries(inputs)) {
    if (Array.isArray(value)) {
      if (!rectangular(value)) return `${name} is not rectangular`;
      shapes.set(name, shapeOf(value));
    } else if (isExplicit(value)) {
      const { shape, data } = value;
      if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) continue;
      if (data.length !== product(shape as number[])) return `${name} has a data length other than its shape's`;
      shapes.set(name, shape as number[]);
    }
  }
  const sizes = new Map<string, number>();
  for (const spec of specs) {
    const shape = shapes.get(spec.name);
    for (const [i, dimName] of (spec.dimNames ?? []).entries()) {
      if (!dimName || !shape || shape.length !== spec.shape.length) continue;
      const seen = sizes.get(dimName);
      if (seen !== undefined && seen !== shape[i]) return `inputs disagree on ${dimName}`;
      sizes.set(dimName, shape[i]);
    }
  }
  return undefined;
}

function isExplicit(value: unknown): value is { shape: unknown[]; data: unknown[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const t = value as { shape?: unknown; data?: unknown };
  return Array.isArray(t.shape) && Array.isArray(t.data);
}

/** The shape along the first elements, as the server reads it. */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  for (let level = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  return shape;
}

/** Whether the arrays at each depth all have one length (scalars mixed in are another problem). */
function rectangular(value: unknown[]): boolean {
  let level: unknown[] = [value];
  while (level.length > 0) {
    const arrays = level.filter((v): v is unknown[] => Array.isArray(v));
    if (new Set(arrays.map((a) => a.length)).size > 1) return false;
    level = arrays.flat();
  }
  return true;
}

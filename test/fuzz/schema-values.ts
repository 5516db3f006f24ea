/**
 * Valid-ish values from the OpenAPI schemas: what a correct client sends, so mutations start from
 * requests that reach deep into the service (an existing model, inputs that fit its signature).
 */
import fc from 'fast-check';
import { JsonSchema, resolveSchema } from './openapi-operations';

/** What the fuzzer knows about the service it seeded. */
export interface FuzzWorld {
  document: unknown;
  /** A model with a ready version; never deleted by the fuzzer. */
  seedModel: string;
  /** Names the fuzzer may create, change and delete. */
  disposableModels: string[];
  /** Rows and columns of the seed model's input `x` (float32 [-1, columns]). */
  inputName: string;
  inputColumns: number;
}

const float32 = fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });

/** Inputs that fit the seed model: a nested array or the explicit {shape, data} form. */
export function seedInputs(world: FuzzWorld): fc.Arbitrary<Record<string, unknown>> {
  const columns = world.inputColumns;
  const rows = fc.array(fc.array(float32, { minLength: columns, maxLength: columns }), { minLength: 1, maxLength: 4 });
  const tensor = fc.oneof(
    rows,
    rows.chain((r) =>
      fc.boolean().map((withDtype) => ({
        shape: [r.length, columns],
        data: r.flat(),
        ...(withDtype ? { dtype: 'float32' } : {}),
      })),
    ),
  );
  return tensor.map((t) => ({ [world.inputName]: t }));
}

/** A model name: mostly one that exists or may be created, sometimes any valid name. */
export function modelName(world: FuzzWorld, { includeSeed = true } = {}): fc.Arbitrary<string> {
  const known = includeSeed ? [world.seedModel, ...world.disposableModels] : world.disposableModels;
  return fc.oneof(
    { arbitrary: fc.constantFrom(...known), weight: 8 },
    { arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/), weight: 2 },
  );
}

function hinted(world: FuzzWorld, name: string | undefined): fc.Arbitrary<unknown> | undefined {
  switch (name) {
    case 'model':
    case 'name':
      return modelName(world);
    case 'version':
      return fc.constantFrom(1, 1, 1, 2, 3);
    case 'inputs':
      return seedInputs(world);
    case 'instances':
      return fc.array(
        seedInputs(world).map((inputs) => ({ inputs })),
        { minLength: 1, maxLength: 5 },
      );
    case 'tags':
      return fc.array(fc.stringMatching(/^[a-z]{1,10}$/), { maxLength: 5 });
    case 'description':
      return fc.string({ maxLength: 40 });
    case 'outputs':
      return fc.constant(['y']);
    default:
      return undefined;
  }
}

function integerIn(schema: JsonSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? 0;
  const max = schema.maximum ?? Math.max(min, 100);
  return fc.oneof(fc.constantFrom(min, max), fc.integer({ min, max }));
}

/** A value the schema allows (with hints by field name), of bounded size. */
export function validValue(world: FuzzWorld, raw: JsonSchema, name?: string, depth = 0): fc.Arbitrary<unknown> {
  const hint = hinted(world, name);
  if (hint) return hint;
  const schema = resolveSchema(world.document, raw);
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives && alternatives.length > 0) {
    return fc.oneof(...alternatives.map((s) => validValue(world, s, undefined, depth + 1)));
  }
  if (schema.enum && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'integer':
      return integerIn(schema);
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'string':
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 30) });
    case 'array':
      return fc.array(depth > 4 ? fc.constant(1) : validValue(world, schema.items ?? {}, undefined, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    default:
      return objectValue(world, schema, depth);
  }
}

function objectValue(world: FuzzWorld, schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (depth > 4) return fc.constant({});
  const properties = schema.properties ?? {};
  const keys = Object.keys(properties);
  if (keys.length > 0) {
    const shape = Object.fromEntries(keys.map((k) => [k, validValue(world, properties[k], k, depth + 1)]));
    return fc.record(shape, { requiredKeys: schema.required?.filter((k) => keys.includes(k)) ?? [] });
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    const values = validValue(world, schema.additionalProperties, undefined, depth + 1);
    return fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), values, { maxKeys: 3 });
  }
  return fc.constant({});
}

/**
 * The input fields of a prediction form, read from the version's request JSON Schema
 * (GET .../versions/{v}/schema): each input's nested-array form gives its rank and fixed
 * dimensions, its `$ref` the dtype.
 */

type Schema = { [keyword: string]: unknown };

export interface InputField {
  name: string;
  dtype: string;
  /** Per dimension: its fixed size, or null when dynamic. */
  dims: (number | null)[];
  description: string;
  /** false when the schema accepts no value (float16 inputs). */
  accepted: boolean;
}

export function inputFields(schema: Schema): InputField[] {
  const inputs = ((schema.properties as Schema | undefined)?.inputs as Schema | undefined)?.properties as
    Record<string, Schema> | undefined;
  return Object.entries(inputs ?? {}).map(([name, input]) => {
    const description = String(input.description ?? '');
    const forms = (input.anyOf as Schema[] | undefined) ?? [];
    const nested = forms.find((form) => form.type === 'array' || typeof form.$ref === 'string');
    if (!nested) return { name, dtype: description.split(' ')[0] ?? '', dims: [], description, accepted: false };
    const dims: (number | null)[] = [];
    let level: Schema = nested;
    while (level.type === 'array') {
      dims.push(typeof level.minItems === 'number' && level.minItems === level.maxItems ? level.minItems : null);
      level = level.items as Schema;
    }
    const dtype =
      String(level.$ref ?? '')
        .split('/')
        .pop() ?? '';
    return { name, dtype, dims, description, accepted: true };
  });
}

/** The shape the form starts with: dynamic dimensions take 1. */
export function defaultShape(field: InputField): number[] {
  return field.dims.map((dim) => dim ?? 1);
}

export function zeroOf(dtype: string): number | boolean | string {
  if (dtype === 'bool') return false;
  if (dtype === 'string') return '';
  return 0;
}

/** A nested array of the shape holding `values` row-major. */
export function nest(shape: number[], values: unknown[]): unknown {
  if (shape.length === 0) return values[0];
  const [first, ...rest] = shape;
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: first }, (_, i) => nest(rest, values.slice(i * size, (i + 1) * size)));
}

/** A grid is offered for small tensors of rank 0 to 2. */
export const GRID_MAX_ELEMENTS = 64;

export function parseCell(dtype: string, text: string): number | boolean | string {
  if (dtype === 'bool') return text === 'true';
  if (dtype === 'string') return text;
  if (dtype === 'int64' && text.trim() !== '' && !Number.isSafeInteger(Number(text))) return text.trim();
  return Number(text);
}

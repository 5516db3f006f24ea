/**
 * Client-supplied names, shapes and values in error messages, cut to a fixed size: a hostile
 * request must not make the service build (or send back) a large string.
 */
export const MAX_NAME_CHARS = 64;
export const MAX_DIMS_SHOWN = 8;
export const MAX_ITEMS_LISTED = 10;
/** Problems of one sort (unknown names, say) reported one by one; the rest are counted. */
export const MAX_SIMILAR_PROBLEMS = 3;
const MAX_VALUE_CHARS = 40;

/** A name cut at 64 characters. */
export function boundedName(name: string): string {
  return name.length > MAX_NAME_CHARS ? `${name.slice(0, MAX_NAME_CHARS)}…` : name;
}

/**
 * A JSON value in at most 40 characters. Arrays and objects are named, not serialized: walking
 * them could take as long (or nest as deep) as the client made them.
 */
export function boundedValue(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value !== null && typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value.slice(0, MAX_VALUE_CHARS + 1)) : String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
}

/** `[1, 2, 3]`, or the first 8 dimensions then `… (rank N)`; a dimension that is not a number is described. */
export function boundedShape(shape: readonly unknown[]): string {
  const shown = shape.slice(0, MAX_DIMS_SHOWN).map((d) => (typeof d === 'number' ? String(d) : boundedValue(d)));
  if (shape.length > MAX_DIMS_SHOWN) shown.push(`… (rank ${shape.length})`);
  return `[${shown.join(', ')}]`;
}

/** `a, b, c`, or the first ten then `and N more`; each item cut like a name. */
export function boundedList(items: readonly string[], max = MAX_ITEMS_LISTED): string {
  const shown = items.slice(0, max).map(boundedName);
  return items.length > max ? `${shown.join(', ')} and ${items.length - max} more` : shown.join(', ');
}

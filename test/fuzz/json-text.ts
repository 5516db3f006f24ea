/**
 * JSON text that JSON.stringify cannot write: raw tokens (`1e400`, `NaN`, `01`), objects with
 * duplicate or `__proto__` keys, and nesting deeper than any recursive serializer would survive.
 * Fuzz generators build plain values with these markers inside; `toJsonText` writes them.
 */

/** A token written verbatim, valid JSON or not (`1e400`, `NaN`, a deep `[[[...]]]`). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An object written key by key, in order: duplicate keys and `__proto__` stay as given. */
export class JsonEntries {
  constructor(readonly entries: ReadonlyArray<readonly [string, unknown]>) {}
}

/** `[[[...]]]` or `{"a":{"a":...}}` nested `depth` levels, built as text (no recursion). */
export function deepNesting(depth: number, kind: 'array' | 'object', leaf = '1'): RawJson {
  if (kind === 'array') return new RawJson(`${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`);
  return new RawJson(`${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`);
}

/**
 * Writes a value built from plain JSON values, RawJson and JsonEntries. Own enumerable keys are
 * written, so an object given a `__proto__` own property (Object.defineProperty) keeps it.
 * Iterative, so a deep value built from markers cannot overflow the fuzzer's own stack.
 */
export function toJsonText(value: unknown): string {
  const out: string[] = [];
  // A stack of pending work: values to write, or literal text (separators and closers).
  const stack: Array<{ value: unknown } | { text: string }> = [{ value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (v instanceof RawJson) out.push(v.text);
    else if (v === null || v === undefined) out.push('null');
    else if (typeof v === 'string') out.push(JSON.stringify(v));
    else if (typeof v === 'number') out.push(Number.isFinite(v) ? String(v) : 'null');
    else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
    else if (typeof v === 'bigint') out.push(v.toString());
    else if (Array.isArray(v))
      pushContainer(
        stack,
        out,
        '[',
        ']',
        v.map((element) => [undefined, element] as const),
      );
    else if (v instanceof JsonEntries) pushContainer(stack, out, '{', '}', v.entries);
    else if (typeof v === 'object') {
      const entries = Object.keys(v).map((k) => [k, (v as Record<string, unknown>)[k]] as const);
      pushContainer(stack, out, '{', '}', entries);
    } else out.push('null');
  }
  return out.join('');
}

function pushContainer(
  stack: Array<{ value: unknown } | { text: string }>,
  out: string[],
  open: string,
  close: string,
  entries: ReadonlyArray<readonly [string | undefined, unknown]>,
): void {
  out.push(open);
  stack.push({ text: close });
  for (let i = entries.length - 1; i >= 0; i--) {
    const [key, element] = entries[i];
    stack.push({ value: element });
    const prefix = `${i > 0 ? ',' : ''}${key === undefined ? '' : `${JSON.stringify(key)}:`}`;
    if (prefix) stack.push({ text: prefix });
  }
}

/** A plain object holding `key` as an own property, even for `__proto__`. */
export function withOwnKey(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(target)) Object.defineProperty(copy, k, ownValue(target[k]));
  Object.defineProperty(copy, key, ownValue(value));
  return copy;
}

function ownValue(value: unknown): PropertyDescriptor {
  return { value, enumerable: true, writable: true, configurable: true };
}

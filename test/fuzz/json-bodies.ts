/** JSON request bodies: a valid one with a value replaced, broken text, sizes at the limits, odd encodings. */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { BodyLimits, GeneratedBody, utf8 } from './fuzz-case';
import { deepValue, hostileString, hostileValue, Labelled } from './hostile-values';
import { deepNesting, JsonEntries, RawJson, toJsonText, withOwnKey } from './json-text';

type Path = Array<string | number>;

/** Paths to every value inside `value`, parents first, at most 60 and 4 levels deep. */
function pathsOf(value: unknown): Path[] {
  const paths: Path[] = [];
  const walk = (v: unknown, path: Path): void => {
    if (paths.length >= 60 || path.length > 4) return;
    if (Array.isArray(v)) v.slice(0, 4).forEach((e, i) => (paths.push([...path, i]), walk(e, [...path, i])));
    else if (v !== null && typeof v === 'object' && !(v instanceof RawJson) && !(v instanceof JsonEntries)) {
      for (const k of Object.keys(v)) {
        paths.push([...path, k]);
        walk((v as Record<string, unknown>)[k], [...path, k]);
      }
    }
  };
  walk(value, []);
  return paths;
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (value !== null && typeof value === 'object' && !(value instanceof RawJson) && !(value instanceof JsonEntries)) {
    const copy: Record<string, unknown> = {};
    for (const k of Object.keys(value)) withOwn(copy, k, clone((value as Record<string, unknown>)[k]));
    return copy;
  }
  return value;
}

function withOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = clone(root);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (Array.isArray(node)) node[last as number] = value;
  else withOwn(node, String(last), value);
  return copy;
}

function pathText(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('') || '(body)';
}

/** A valid body with one value somewhere inside replaced, one key added, or one key removed. */
export function mutatedJson(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Labelled<unknown>> {
  return valid.chain((value) => {
    const paths = pathsOf(value);
    const replace =
      paths.length === 0
        ? hostileValue.map((h) => ({ value: h.value, label: `body: ${h.label}` }))
        : fc.tuple(fc.constantFrom(...paths), hostileValue).map(([path, h]) => ({
            value: setAt(value, path, h.value),
            label: `${pathText(path)}: ${h.label}`,
          }));
    const objectPaths: Path[] = [[], ...paths].filter((p) => {
      const target = p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value);
      return target !== null && typeof target === 'object' && !Array.isArray(target);
    });
    const addKey =
      objectPaths.length === 0
        ? replace
        : fc
            .tuple(
              fc.constantFrom(...objectPaths),
              fc.oneof(
                fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', ''),
                hostileString.map((s) => s.value),
              ),
              hostileValue,
            )
            .map(([path, key, h]) => {
              const target = path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value);
              return {
                value: setAt(value, path, withOwnKey(target as Record<string, unknown>, key, h.value)),
                label: `extra key ${JSON.stringify(key.slice(0, 20))} at ${pathText(path)}: ${h.label}`,
              };
            });
    const removable = paths.filter((p) => typeof p[p.length - 1] === 'string');
    const removeKey =
      removable.length === 0
        ? replace
        : fc.constantFrom(...removable).map((path) => {
            const parent = path.slice(0, -1);
            const target = clone(parent.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value));
            delete (target as Record<string, unknown>)[path[path.length - 1] as string];
            return { value: setAt(value, parent, target), label: `missing ${pathText(path)}` };
          });
    return fc.oneof(
      { arbitrary: replace, weight: 5 },
      { arbitrary: addKey, weight: 2 },
      { arbitrary: removeKey, weight: 1 },
    );
  });
}

export const INVALID_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

/** Bodies that are not the JSON the route expects: wrong top-level type, broken text, odd bytes. */
export function brokenJson(valid: fc.Arbitrary<unknown>): fc.Arbitrary<GeneratedBody> {
  const text = valid.map((v) => toJsonText(v));
  return fc.oneof(
    hostileValue.map((h) => ({ body: utf8(toJsonText(h.value)), label: `top-level ${h.label}` })),
    fc
      .constantFrom('[]', '""', '0', 'null', 'true', '[{}]', '"{}"')
      .map((t) => ({ body: utf8(t), label: `top-level ${t}` })),
    text.chain((t) =>
      fc.integer({ min: 0, max: Math.max(0, t.length - 1) }).map((cut) => ({
        body: utf8(t.slice(0, cut)),
        label: `truncated JSON (${cut} of ${t.length} chars)`,
      })),
    ),
    fc.tuple(text, fc.constantFrom(...INVALID_UTF8)).map(([t, bytes]) => {
      const at = Math.max(0, t.indexOf('"') + 1);
      const raw = Buffer.from(t, 'utf8');
      const cut = Buffer.byteLength(t.slice(0, at));
      return {
        body: new Uint8Array(Buffer.concat([raw.subarray(0, cut), Buffer.from(bytes), raw.subarray(cut)])),
        label: `invalid UTF-8 ${Buffer.from(bytes).toString('hex')}`,
      };
    }),
    fc.tuple(text, fc.constantFrom('\ufeff', ' \n\t', '\u0000', '/* c */', 'x', '{}')).map(([t, prefix]) => ({
      body: utf8(`${prefix}${t}`),
      label: `prefix ${JSON.stringify(prefix)}`,
    })),
    fc.tuple(text, fc.constantFrom('x', '{}', ',', '\u0000', '\n{"a":1}', ']')).map(([t, suffix]) => ({
      body: utf8(`${t}${suffix}`),
      label: `suffix ${JSON.stringify(suffix)}`,
    })),
    fc
      .constantFrom(
        "{'name':'x'}",
        '{"name":"x",}',
        '{name:"x"}',
        '{"a":1 "b":2}',
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":-}',
      )
      .map((t) => ({ body: utf8(t), label: `not JSON: ${t}` })),
    fc.constantFrom('', ' ', '\n').map((t) => ({ body: utf8(t), label: `empty body ${JSON.stringify(t)}` })),
    deepValue.map((d) => ({ body: utf8(toJsonText(d.value)), label: `top-level ${d.label}` })),
    fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => ({ body: b, label: 'random bytes' })),
  );
}

/** A valid-ish JSON object padded to land exactly at a size just past (or just under) a limit. */
export function sizedJson(valid: fc.Arbitrary<unknown>, limits: BodyLimits): fc.Arbitrary<GeneratedBody> {
  const sizes = [limits.registry, limits.json].flatMap((l) => [l - 1, l, l + 1, l + 64]);
  return fc.tuple(valid, fc.constantFrom(...sizes)).map(([value, size]) => {
    const text = toJsonText(value);
    const inner = text.startsWith('{') && text.length > 2 ? `,${text.slice(1)}` : '}';
    const fixed = '{"pad":"'.length + '"'.length + inner.length;
    const body = `{"pad":"${'x'.repeat(Math.max(0, size - fixed))}"${inner}`;
    return {
      body: utf8(body),
      label: `body of ${Buffer.byteLength(body)} bytes (limits ${limits.registry}/${limits.json})`,
    };
  });
}

/** Content types and encodings a JSON route should refuse or handle: wrong, missing, compressed. */
export function oddEncoding(valid: fc.Arbitrary<unknown>, limits: BodyLimits): fc.Arbitrary<GeneratedBody> {
  const text = valid.map((v) => toJsonText(v));
  const types = [
    '',
    'text/plain',
    'application/xml',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'application/x-ndjson',
    'application/octet-stream',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/json; charset=nonsense',
    'APPLICATION/JSON',
    'application/json;;;',
    'application/vnd.api+json',
    'application/json, text/plain',
    `application/json; x=${'y'.repeat(3000)}`,
    'application/json\u0000',
  ];
  return fc.oneof(
    fc.tuple(text, fc.constantFrom(...types)).map(([t, type]) => ({
      body: utf8(t),
      label: `Content-Type ${JSON.stringify(type.slice(0, 60))}`,
      headers: type === '' ? [] : [['Content-Type', type] as [string, string]],
    })),
    text.map((t) => ({
      body: new Uint8Array(gzipSync(t)),
      label: 'gzip body',
      headers: [
        ['Content-Type', 'application/json'],
        ['Content-Encoding', 'gzip'],
      ] as Array<[string, string]>,
    })),
    fc.constantFrom('gzip', 'deflate', 'br', 'x-unknown', 'gzip, gzip', 'identity').chain((encoding) =>
      text.map((t) => ({
        body: utf8(t),
        label: `Content-Encoding ${encoding} on a plain body`,
        headers: [
          ['Content-Type', 'application/json'],
          ['Content-Encoding', encoding],
        ] as Array<[string, string]>,
      })),
    ),
    fc.constant({
      body: new Uint8Array(gzipSync(`{"pad":"${'0'.repeat(Math.max(limits.json, limits.registry) * 4)}"}`)),
      label: 'gzip bomb (inflates past the limit)',
      headers: [
        ['Content-Type', 'application/json'],
        ['Content-Encoding', 'gzip'],
      ] as Array<[string, string]>,
    }),
  );
}

/** Deep nesting that fits under a byte budget (2 bytes per level for arrays, 6 for objects). */
export function deepBody(maxBytes: number): fc.Arbitrary<GeneratedBody> {
  return fc.constantFrom<'array' | 'object'>('array', 'object').chain((kind) =>
    fc
      .integer({ min: 1000, max: Math.max(1000, Math.floor(maxBytes / (kind === 'array' ? 2 : 6)) - 20) })
      .map((depth) => ({
        body: utf8(toJsonText(deepNesting(depth, kind))),
        label: `top-level deep nesting (${depth} ${kind}s)`,
      })),
  );
}

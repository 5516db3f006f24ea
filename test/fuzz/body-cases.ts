/** Request bodies: valid-ish ones and their mutations, for JSON, NDJSON and multipart routes. */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  externalDataModel,
  mlpModel,
  modelWithoutGraph,
  modelWithoutOpset,
  unknownDomainModel,
} from '../support/onnx-models';
import { utf8 } from './fuzz-case';
import { deepValue, hostileObject, hostileString, hostileValue, Labelled } from './hostile-values';
import { deepNesting, JsonEntries, RawJson, toJsonText, withOwnKey } from './json-text';

/** Body size limits of the service under test (its environment), to land just past each. */
export interface BodyLimits {
  json: number;
  registry: number;
  model: number;
  /** Instances of one job. */
  jobInstances: number;
}

export interface GeneratedBody {
  body: Uint8Array;
  label: string;
  /** Headers the body needs (Content-Type, Content-Encoding), replacing the defaults. */
  headers?: Array<[string, string]>;
}

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

const INVALID_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

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

// ---------------------------------------------------------------------------------------------
// NDJSON job submissions
// ---------------------------------------------------------------------------------------------

/** One to five valid NDJSON lines. */
export function validNdjson(instance: fc.Arbitrary<unknown>): fc.Arbitrary<GeneratedBody> {
  return fc
    .array(
      instance.map((i) => toJsonText(i)),
      { minLength: 1, maxLength: 5 },
    )
    .map((ls) => ({ body: utf8(ls.map((l) => `${l}\n`).join('')), label: 'valid NDJSON' }));
}

/** NDJSON bodies: valid lines, broken lines, blank lines, a line past the limit, too many lines. */
export function ndjsonBody(
  instance: fc.Arbitrary<unknown>,
  limits: BodyLimits,
  tensor?: { input: string; values: fc.Arbitrary<Labelled<unknown>> },
): fc.Arbitrary<GeneratedBody> {
  const line = instance.map((i) => toJsonText(i));
  const lines = fc.array(line, { minLength: 1, maxLength: 5 });
  const join = (ls: string[], eol = '\n') => utf8(ls.join(eol) + eol);
  return fc.oneof(
    { arbitrary: validNdjson(instance), weight: 3 },
    lines.map((ls) => ({ body: join(ls, '\r\n'), label: 'CRLF NDJSON' })),
    lines.map((ls) => ({ body: utf8(ls.join('\n')), label: 'no final newline' })),
    lines.map((ls) => ({ body: join(['', '  ', ...ls, '', '']), label: 'blank lines' })),
    fc.tuple(lines, mutatedJson(instance)).map(([ls, bad]) => ({
      body: join([...ls, toJsonText(bad.value)]),
      label: `NDJSON line ${ls.length + 1}: ${bad.label}`,
    })),
    fc
      .tuple(lines, fc.constantFrom('{"inputs": ', '[1,2]', 'null', '"x"', 'garbage', '{}', '\u0000'))
      .map(([ls, bad]) => ({ body: join([...ls, bad]), label: `NDJSON bad line ${JSON.stringify(bad)}` })),
    fc.tuple(line, fc.constantFrom(...INVALID_UTF8)).map(([l, bytes]) => ({
      body: new Uint8Array(Buffer.concat([Buffer.from(l), Buffer.from(bytes), Buffer.from('\n')])),
      label: 'NDJSON invalid UTF-8',
    })),
    deepValue.map((d) => ({ body: join([`{"inputs": {"x": ${toJsonText(d.value)}}}`]), label: `NDJSON ${d.label}` })),
    fc.constantFrom(limits.json + 1, limits.json + 100).map((size) => ({
      body: utf8(`{"inputs": {"x": "${'x'.repeat(size)}"}}\n`),
      label: `NDJSON line over ${limits.json} bytes`,
    })),
    line.map((l) => ({
      body: join(new Array<string>(limits.jobInstances + 1).fill(l)),
      label: `${limits.jobInstances + 1} instances (one over the limit)`,
    })),
    fc.constantFrom('', '\n', '\n\n\n').map((t) => ({ body: utf8(t), label: `empty NDJSON ${JSON.stringify(t)}` })),
    ...(tensor
      ? [
          fc.tuple(lines, tensor.values).map(([ls, t]) => ({
            body: join([...ls, toJsonText({ inputs: { [tensor.input]: t.value } })]),
            label: `NDJSON line ${ls.length + 1}: ${t.label}`,
          })),
        ]
      : []),
  );
}

// ---------------------------------------------------------------------------------------------
// Multipart model uploads
// ---------------------------------------------------------------------------------------------

interface Part {
  headers: string[];
  content: Uint8Array;
}

function filePart(content: Uint8Array, name = 'file', filename = 'model.onnx'): Part {
  return {
    headers: [
      `Content-Disposition: form-data; name="${name}"; filename="${filename}"`,
      'Content-Type: application/octet-stream',
    ],
    content,
  };
}

function fieldPart(name: string, value: string): Part {
  return { headers: [`Content-Disposition: form-data; name="${name}"`], content: utf8(value) };
}

function encodeMultipart(boundary: string, parts: Part[], { close = true, eol = '\r\n' } = {}): Uint8Array {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}${eol}${part.headers.map((h) => `${h}${eol}`).join('')}${eol}`, 'utf8'));
    chunks.push(Buffer.from(part.content), Buffer.from(eol));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--${eol}`));
  return new Uint8Array(Buffer.concat(chunks));
}

/** The models a valid upload carries: small, loadable, all with the same signature. */
export const VALID_MODELS = [1, 2, 3].map((seed) => new Uint8Array(mlpModel({ seed })));

const UNUSABLE_MODELS: Array<[string, () => Uint8Array]> = [
  ['external-data model', () => new Uint8Array(externalDataModel())],
  ['unknown-domain model', () => new Uint8Array(unknownDomainModel())],
  ['model without graph', () => new Uint8Array(modelWithoutGraph())],
  ['model without opset', () => new Uint8Array(modelWithoutOpset())],
];

const BOUNDARY = fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,40}$/).map((b) => `fz${b}`);

/** The boundary parameter, quoted when it holds characters a bare token cannot (RFC 2046). */
function multipartType(boundary: string): Array<[string, string]> {
  const value = /^[A-Za-z0-9_.+-]+$/.test(boundary) ? boundary : `"${boundary}"`;
  return [['Content-Type', `multipart/form-data; boundary=${value}`]];
}

/** A well-formed upload of a loadable model, with or without a description. */
export function validUpload(): fc.Arbitrary<GeneratedBody> {
  return fc
    .tuple(BOUNDARY, fc.constantFrom(...VALID_MODELS), fc.option(fc.string({ maxLength: 40 }), { nil: undefined }))
    .map(([b, model, description]) => ({
      body: encodeMultipart(
        b,
        description === undefined ? [filePart(model)] : [filePart(model), fieldPart('description', description)],
      ),
      label: 'valid upload',
      headers: multipartType(b),
    }));
}

/** Upload bodies: valid, unusable files, and every way a multipart body can be broken. */
export function multipartBody(limits: BodyLimits): fc.Arbitrary<GeneratedBody> {
  const boundary = BOUNDARY;
  const typeFor = multipartType;
  const valid = fc.constantFrom(...VALID_MODELS);
  const description = fc.option(fc.string({ maxLength: 40 }), { nil: undefined });
  const upload = (label: string, parts: fc.Arbitrary<Part[]>, options?: { close?: boolean; eol?: string }) =>
    fc.tuple(boundary, parts).map(([b, ps]) => ({ body: encodeMultipart(b, ps, options), label, headers: typeFor(b) }));
  const withDescription = (file: fc.Arbitrary<Uint8Array>) =>
    fc
      .tuple(file, description)
      .map(([f, d]) => (d === undefined ? [filePart(f)] : [filePart(f), fieldPart('description', d)]));

  return fc.oneof(
    { arbitrary: validUpload(), weight: 2 },
    upload('random bytes as model', withDescription(fc.uint8Array({ minLength: 0, maxLength: 3000 }))),
    upload(
      'truncated model',
      valid.chain((m) => fc.integer({ min: 0, max: m.length - 1 }).map((n) => [filePart(m.subarray(0, n))])),
    ),
    upload(
      'model with trailing garbage',
      fc
        .tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 64 }))
        .map(([m, g]) => [filePart(new Uint8Array(Buffer.concat([m, g])))]),
    ),
    fc
      .tuple(boundary, fc.constantFrom(...UNUSABLE_MODELS))
      .map(([b, [label, build]]) => ({ body: encodeMultipart(b, [filePart(build())]), label, headers: typeFor(b) })),
    upload(
      `file over MAX_MODEL_BYTES (${limits.model})`,
      fc.constantFrom(limits.model + 1, limits.model + 1000).map((n) => [filePart(new Uint8Array(n))]),
    ),
    upload(
      'description too long',
      valid.map((m) => [filePart(m), fieldPart('description', 'd'.repeat(2001))]),
    ),
    upload(
      'hostile description',
      fc.tuple(valid, hostileString).map(([m, s]) => [filePart(m), fieldPart('description', s.value)]),
    ),
    upload(
      'unknown field',
      valid.map((m) => [fieldPart('extra', 'x'), filePart(m)]),
    ),
    upload(
      'two file parts',
      valid.map((m) => [filePart(m), filePart(m)]),
    ),
    upload(
      'file in the wrong part',
      valid.map((m) => [filePart(m, 'model')]),
    ),
    upload('no file part', fc.constant([fieldPart('description', 'x')])),
    upload('no parts', fc.constant([])),
    upload(
      'many parts',
      fc.integer({ min: 6, max: 400 }).map((n) => Array.from({ length: n }, (_, i) => fieldPart(`f${i}`, 'x'))),
    ),
    upload(
      'hostile filename',
      fc
        .tuple(
          valid,
          fc.constantFrom(
            '../../etc/passwd',
            '..%2f..%2fx.onnx',
            'a\u0000b.onnx',
            '',
            '\u202egnp.onnx',
            'x'.repeat(5000),
          ),
        )
        .map(([m, f]) => [filePart(m, 'file', f)]),
    ),
    upload(
      'part without Content-Disposition',
      valid.map((m) => [{ headers: ['Content-Type: application/octet-stream'], content: m }]),
    ),
    upload(
      'part with a huge header',
      valid.map((m) => [{ headers: [...filePart(m).headers, `X-Junk: ${'j'.repeat(20_000)}`], content: m }]),
    ),
    upload(
      'part with many headers',
      valid.map((m) => [
        { headers: [...filePart(m).headers, ...Array.from({ length: 60 }, (_, i) => `X-H${i}: v`)], content: m },
      ]),
    ),
    upload('unterminated multipart (no closing boundary)', withDescription(valid), { close: false }),
    fc.tuple(boundary, valid, fc.nat()).map(([b, m, at]) => {
      const full = encodeMultipart(b, [filePart(m)]);
      const cut = 1 + (at % (full.length - 1));
      return {
        body: full.subarray(0, cut),
        label: `multipart cut at byte ${cut} of ${full.length}`,
        headers: typeFor(b),
      };
    }),
    upload('LF-only line endings', withDescription(valid), { eol: '\n' }),
    fc.tuple(boundary, boundary, valid).map(([b, other, m]) => ({
      body: encodeMultipart(other, [filePart(m)]),
      label: 'boundary in the header differs from the body',
      headers: typeFor(b === other ? `${b}x` : b),
    })),
    fc
      .tuple(
        valid,
        fc.constantFrom(
          'multipart/form-data',
          'multipart/form-data; boundary=',
          'multipart/form-data; boundary="unterminated',
          `multipart/form-data; boundary=${'b'.repeat(300)}`,
          'multipart/form-data; boundary=a\u0000b',
          'multipart/form-data; boundary=fz; boundary=other',
          'multipart/mixed; boundary=fz',
          'multipart/form-data; charset=utf-16; boundary=fz',
          'application/json',
          'application/octet-stream',
          '',
        ),
      )
      .map(([m, type]) => ({
        body: encodeMultipart('fz', [filePart(m)]),
        label: `upload with Content-Type ${JSON.stringify(type.slice(0, 60))}`,
        headers: type === '' ? [] : [['Content-Type', type] as [string, string]],
      })),
    fc.tuple(boundary, fc.uint8Array({ minLength: 0, maxLength: 500 })).map(([b, bytes]) => ({
      body: bytes,
      label: 'random bytes as multipart',
      headers: typeFor(b),
    })),
    hostileObject.map((h) => ({
      body: utf8(toJsonText(h.value)),
      label: `JSON (${h.label}) sent as multipart`,
      headers: typeFor('fz'),
    })),
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

// ---------------------------------------------------------------------------------------------
// Tensors (prediction inputs and job instances)
// ---------------------------------------------------------------------------------------------

/** A tensor value for an input `x` float32 [-1, columns]: deep, huge, mis-shaped or ill-typed. */
export function hostileTensor(columns: number): fc.Arbitrary<Labelled<unknown>> {
  const row = (values: unknown[]) => values.slice(0, columns);
  // Hundreds, thousands and tens of thousands of levels: limits and stack depths differ by code path.
  const depth = fc.oneof(
    fc.integer({ min: 100, max: 3000 }),
    fc.integer({ min: 3000, max: 10_000 }),
    fc.integer({ min: 10_000, max: 30_000 }),
  );
  const deep = (label: string, build: (d: number) => unknown) => ({
    arbitrary: depth.map((d) => ({ value: build(d), label: `${label} nested ${d} deep` })),
    weight: 2,
  });
  return fc.oneof(
    deep('tensor', (d) => deepNesting(d, 'array')),
    deep('tensor object', (d) => deepNesting(d, 'object')),
    deep('a shape entry', (d) => ({ shape: [1, deepNesting(d, 'array')], data: [1] })),
    deep('a data element', (d) => ({
      shape: [1, columns],
      data: [deepNesting(d, 'array'), 2, 3, 4].slice(0, columns),
    })),
    deep('an element', (d) => [[1, 2, 3, deepNesting(d, 'array')].slice(-columns)]),
    fc.integer({ min: 3, max: 60_000 }).map((rank) => ({
      value: { shape: new Array<number>(rank).fill(1), data: [1] },
      label: `shape of rank ${rank}`,
    })),
    fc
      .constantFrom<unknown[]>(
        [1e9, 1e9],
        [2 ** 53, 4],
        [-1, 4],
        [0, 4],
        [1.5, 4],
        [1e308, 4],
        ['1', '4'],
        [null, 4],
        [],
      )
      .map((shape) => ({ value: { shape, data: [] }, label: `shape ${JSON.stringify(shape)}` })),
    fc.array(hostileValue, { minLength: columns, maxLength: columns }).map((values) => ({
      value: { shape: [1, columns], data: values.map((v) => v.value) },
      label: `data ${values.map((v) => v.label).join(', ')}`.slice(0, 120),
    })),
    fc.array(hostileNumberOrToken(), { minLength: columns, maxLength: columns }).map((values) => ({
      value: [row(values)],
      label: 'row of odd numbers',
    })),
    fc.integer({ min: 1000, max: 30_000 }).map((rows) => ({
      value: new RawJson(
        `[${new Array<string>(rows).fill(`[${new Array<string>(columns).fill('1').join(',')}]`).join(',')}]`,
      ),
      label: `${rows} rows (${rows * columns} elements)`,
    })),
    fc.constantFrom<unknown>('float16', 'string', 'int64', 'FLOAT32', '', null, 1).map((dtype) => ({
      value: { shape: [1, columns], data: new Array<number>(columns).fill(1), dtype },
      label: `dtype ${JSON.stringify(dtype)}`,
    })),
    hostileObject.map((h) => ({ value: h.value, label: `tensor is ${h.label}` })),
    fc
      .constantFrom<unknown>(1, 'x', null, true, [], [[]], [[1, 2], [3]], { data: [1] }, { shape: [1, columns] })
      .map((v) => ({
        value: v,
        label: `tensor ${JSON.stringify(v)}`,
      })),
  );
}

function hostileNumberOrToken(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(1e39, -1e39, 3.4028235e38, 5e-324, '1', 'NaN', null, true, [], {}),
    fc.constantFrom('1e400', '-1e400', '99999999999999999999').map((t) => new RawJson(t)),
    fc.double(),
  );
}

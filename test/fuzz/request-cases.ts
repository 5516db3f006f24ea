/**
 * Requests for every operation of the OpenAPI document: valid ones, and ones mutated in the body,
 * the path, the query, the headers or the HTTP framing.
 */
import fc from 'fast-check';
import {
  BodyLimits,
  brokenJson,
  deepBody,
  GeneratedBody,
  hostileTensor,
  multipartBody,
  mutatedJson,
  ndjsonBody,
  oddEncoding,
  sizedJson,
  validNdjson,
  validUpload,
} from './body-cases';
import { EMPTY, FuzzCase, PathPart, utf8 } from './fuzz-case';
import { hostileString } from './hostile-values';
import { toJsonText } from './json-text';
import { Operation, Parameter } from './openapi-operations';
import { FuzzWorld, modelName, seedInputs, validValue } from './schema-values';

const JSON_TYPE = 'application/json';
const NDJSON_TYPE = 'application/x-ndjson';
const MULTIPART_TYPE = 'multipart/form-data';

/** Integer spellings a strict decimal parser must refuse (or bound). */
export const STRICT_INTEGER_PROBES = [
  '1e20',
  '99999999999999999999',
  '0x10',
  ' 1',
  '%201',
  '1%20',
  '-1',
  '1.5',
  'NaN',
  'Infinity',
  '',
  '01',
  '+1',
  '1e3',
  '0b1',
  '9007199254740993',
  '2147483648',
  '-0',
  '%D9%A1',
  '1,2',
  '%00',
  '1%00',
];

/**
 * The probes no strict decimal reading accepts (API.md: integer parameters are strict decimal with
 * a documented maximum, else 400). Left out: ones a reasonable reader may take ('01', '+1', '-0',
 * an empty value) and ones that depend on the maximum.
 */
const MUST_REFUSE = new Set([
  '1e20',
  '99999999999999999999',
  '0x10',
  '%201',
  '1%20',
  '1.5',
  'NaN',
  'Infinity',
  '1e3',
  '0b1',
  '9007199254740993',
  '%D9%A1',
  '1,2',
  '%00',
  '1%00',
]);

/** Path parameter values that try traversal, NUL, broken encoding, sheer length and odd ids. */
const PATH_PROBES = [
  '..',
  '.',
  '../..',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f',
  '%2e%2e',
  '%2E%2E%2F%2E%2E%2F',
  '..%5c..%5c',
  '%00',
  'iris%00',
  '%00.onnx',
  '%ff',
  '%c0%af',
  '%',
  '%zz',
  'a%2Fb',
  '%20',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  '0',
  '-1',
  '1e20',
  '99999999999999999999',
  '0x10',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '%7B%7D',
  '%E2%80%AE',
  '%F0%9F%98%80',
  '%ED%A0%80',
];

/** Percent-encodes every byte but unreserved ones; lone surrogates go as their UTF-8 replacement. */
function encodeValue(value: unknown): string {
  return [...Buffer.from(String(value), 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

function isIntegerParam(p: Parameter): boolean {
  return p.schema.type === 'integer' || p.schema.type === 'number';
}

/** The id pools the fuzzer fills from responses, by the path the operation lives under. */
function refKind(op: Operation): 'job' | 'prediction' | undefined {
  if (op.path.startsWith('/api/v1/jobs')) return 'job';
  if (op.path.startsWith('/api/v1/predictions')) return 'prediction';
  return undefined;
}

/** A valid value for a path parameter; `name` never targets the seed model on a DELETE. */
function validPathValue(world: FuzzWorld, op: Operation, p: Parameter): fc.Arbitrary<PathPart> {
  if (p.name === 'name') return modelName(world, { includeSeed: op.method !== 'DELETE' }).map(encodeValue);
  if (p.name === 'version') return fc.constantFrom('1', '1', '2', '3');
  const kind = refKind(op);
  if (p.name === 'id' && kind) {
    return fc.oneof(
      { arbitrary: fc.nat({ max: 50 }).map((pick) => ({ ref: kind, pick })), weight: 4 },
      { arbitrary: fc.uuid().map(encodeValue), weight: 1 },
    );
  }
  return validValue(world, p.schema, p.name).map(encodeValue);
}

function pathOf(op: Operation, values: Record<string, PathPart>): PathPart[] {
  const parts: PathPart[] = [];
  let rest = op.path;
  for (let m = /\{([^}]+)\}/.exec(rest); m; m = /\{([^}]+)\}/.exec(rest)) {
    parts.push(rest.slice(0, m.index), values[m[1]] ?? 'x');
    rest = rest.slice(m.index + m[0].length);
  }
  if (rest) parts.push(rest);
  return parts;
}

function validPath(world: FuzzWorld, op: Operation): fc.Arbitrary<Record<string, PathPart>> {
  return fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, validPathValue(world, op, p)])));
}

/** Optional query parameters, each present or not; required ones always. */
function validQuery(world: FuzzWorld, op: Operation, seedOnly = false): fc.Arbitrary<string> {
  if (op.queryParams.length === 0) return fc.constant('');
  const entries = op.queryParams.map((p) => {
    const value = p.name === 'model' && seedOnly ? fc.constant(world.seedModel) : validValue(world, p.schema, p.name);
    const pair = value.map((v) => `${encodeValue(p.name)}=${encodeValue(v)}`);
    return p.required || seedOnly
      ? pair.map((s) => [s])
      : fc.option(pair, { nil: undefined }).map((s) => (s ? [s] : []));
  });
  return fc.tuple(...entries).map((lists) => lists.flat().join('&'));
}

interface BodyKind {
  type: string;
  valid: fc.Arbitrary<GeneratedBody>;
  /** The valid value itself, for JSON bodies (mutations start from it). */
  value?: fc.Arbitrary<unknown>;
}

function bodyKinds(world: FuzzWorld, op: Operation): BodyKind[] {
  if (!op.body) return [];
  return Object.entries(op.body).map(([type, schema]) => {
    if (type === MULTIPART_TYPE) {
      return { type, valid: validUpload() };
    }
    if (type === NDJSON_TYPE) {
      const instance = seedInputs(world).map((inputs) => ({ inputs }));
      return {
        type,
        valid: validNdjson(instance),
        value: instance,
      };
    }
    const value = validValue(world, schema);
    return { type, value, valid: value.map((v) => ({ body: utf8(toJsonText(v)), label: 'valid' })) };
  });
}

interface Built {
  mutation: string;
  expect?: FuzzCase['expect'];
  pathValues: Record<string, PathPart>;
  query: string;
  headers: Array<[string, string]>;
  body?: Uint8Array;
  framing?: FuzzCase['framing'];
  halfClose?: boolean;
  omitHost?: boolean;
  method?: string;
}

function finish(op: Operation, built: Built): FuzzCase {
  return {
    operationId: op.operationId,
    mutation: built.mutation,
    method: built.method ?? op.method,
    path: pathOf(op, built.pathValues),
    query: built.query,
    headers: built.headers,
    body: built.body,
    framing: built.framing ?? 'content-length',
    halfClose: built.halfClose,
    omitHost: built.omitHost,
    expect: built.expect,
  };
}

/** Headers of the body: the generated ones replace the default Content-Type. */
function bodyHeaders(kind: BodyKind | undefined, generated?: GeneratedBody): Array<[string, string]> {
  if (generated?.headers) return generated.headers;
  return kind ? [['Content-Type', kind.type]] : [];
}

/** Everything about a request for one operation, valid or hostile in one respect. */
export function caseFor(world: FuzzWorld, op: Operation, limits: BodyLimits): fc.Arbitrary<FuzzCase> {
  const kinds = bodyKinds(world, op);
  const jobsNdjson = kinds.some((k) => k.type === NDJSON_TYPE);
  const base = (kindIndex: number) =>
    fc.record({
      pathValues: validPath(world, op),
      query: validQuery(world, op, jobsNdjson && kinds[kindIndex]?.type === NDJSON_TYPE),
    });
  const kindArb = kinds.length > 0 ? fc.nat({ max: kinds.length - 1 }) : fc.constant(-1);
  const strategies: Array<{ arbitrary: fc.Arbitrary<Built>; weight: number }> = [];

  const withKind = (make: (kind: BodyKind | undefined, index: number) => fc.Arbitrary<Built>) =>
    kindArb.chain((i) => make(i >= 0 ? kinds[i] : undefined, i));

  // A well-formed request.
  strategies.push({
    weight: 3,
    arbitrary: withKind((kind, i) =>
      fc.tuple(base(i), kind ? kind.valid : fc.constant(undefined)).map(([b, body]) => ({
        ...b,
        mutation: 'valid',
        headers: bodyHeaders(kind, body),
        body: body?.body,
      })),
    ),
  });

  const jsonKind = kinds.find((k) => k.type === JSON_TYPE);
  if (jsonKind?.value) {
    const jsonIndex = kinds.indexOf(jsonKind);
    const value = jsonKind.value;
    const json = (label: string, body: fc.Arbitrary<GeneratedBody>, weight: number) =>
      strategies.push({
        weight,
        arbitrary: fc.tuple(base(jsonIndex), body).map(([b, g]) => ({
          ...b,
          mutation: `${label}: ${g.label}`,
          headers: bodyHeaders(jsonKind, g),
          body: g.body,
        })),
      });
    json(
      'body field',
      mutatedJson(value).map((m) => ({ body: utf8(toJsonText(m.value)), label: m.label })),
      6,
    );
    json('body', brokenJson(value), 3);
    json('body size', sizedJson(value, limits), 1);
    json('content', oddEncoding(value, limits), 2);
    json('body', deepBody(Math.min(limits.registry, limits.json)), 1);
    // Prediction inputs and job instances: the seed model's input replaced by a hostile tensor.
    const tensors = hostileTensor(world.inputColumns);
    const withTensor = (v: unknown, t: unknown): unknown => {
      const body = v as { inputs?: unknown; instances?: Array<{ inputs: unknown }> };
      const inputs = { [world.inputName]: t };
      if (body.inputs !== undefined) return { ...body, inputs };
      if (Array.isArray(body.instances)) return { ...body, instances: [...body.instances.slice(1), { inputs }] };
      return undefined;
    };
    const takesTensors = fc.sample(value, { numRuns: 1, seed: 1 }).some((v) => withTensor(v, 1) !== undefined);
    if (takesTensors) {
      json(
        'tensor',
        fc.tuple(value, tensors).map(([v, t]) => ({
          body: utf8(toJsonText(withTensor(v, t.value))),
          label: `${world.inputName}: ${t.label}`,
        })),
        8,
      );
    }
  }
  const ndjson = kinds.find((k) => k.type === NDJSON_TYPE);
  if (ndjson?.value) {
    const index = kinds.indexOf(ndjson);
    strategies.push({
      weight: 4,
      arbitrary: fc
        .tuple(
          base(index),
          ndjsonBody(ndjson.value, limits, { input: world.inputName, values: hostileTensor(world.inputColumns) }),
          ndjsonQuery(world),
        )
        .map(([b, g, q]) => ({
          ...b,
          query: q.query ?? b.query,
          mutation: `ndjson: ${g.label}${q.label ? `; ${q.label}` : ''}`,
          headers: bodyHeaders(ndjson, g),
          body: g.body,
        })),
    });
  }
  const multipart = kinds.find((k) => k.type === MULTIPART_TYPE);
  if (multipart) {
    strategies.push({
      weight: 8,
      arbitrary: fc.tuple(base(0), multipartBody(limits)).map(([b, g]) => ({
        ...b,
        mutation: `multipart: ${g.label}`,
        headers: bodyHeaders(multipart, g),
        body: g.body,
      })),
    });
  }

  if (op.pathParams.length > 0) {
    strategies.push({
      weight: 3,
      arbitrary: withKind((kind, i) =>
        fc
          .tuple(
            base(i),
            fc.constantFrom(...op.pathParams),
            hostilePathValue(),
            kind ? kind.valid : fc.constant(undefined),
          )
          .map(([b, p, v, body]) => ({
            ...b,
            pathValues: { ...b.pathValues, [p.name]: v },
            mutation: `path ${p.name}=${v.length > 60 ? `${v.slice(0, 30)}… (${v.length} chars)` : v}`,
            expect:
              isIntegerParam(p) && (MUST_REFUSE.has(v) || v === '-1') ? strictIntegerExpectation(p.name, v) : undefined,
            headers: bodyHeaders(kind, body),
            body: body?.body,
          })),
      ),
    });
  }

  strategies.push({
    weight: 3,
    arbitrary: withKind((kind, i) =>
      fc.tuple(base(i), hostileQuery(world, op), kind ? kind.valid : fc.constant(undefined)).map(([b, q, body]) => ({
        ...b,
        query: q.query,
        mutation: `query: ${q.label}`,
        expect: q.expect,
        headers: bodyHeaders(kind, body),
        body: body?.body,
      })),
    ),
  });

  strategies.push({
    weight: 2,
    arbitrary: withKind((kind, i) =>
      fc.tuple(base(i), oddHeader(), kind ? kind.valid : fc.constant(undefined)).map(([b, h, body]) => ({
        ...b,
        mutation: `header: ${h.label}`,
        headers: [...bodyHeaders(kind, body), ...h.headers],
        body: body?.body,
      })),
    ),
  });

  strategies.push({
    weight: 2,
    arbitrary: withKind((kind, i) =>
      fc.tuple(base(i), kind ? kind.valid : fc.constant(undefined)).chain(([b, body]) =>
        oddFraming(body?.body ?? (op.method === 'GET' ? EMPTY : utf8('{}'))).map((f) => ({
          ...b,
          mutation: `framing: ${f.label}`,
          headers: [...bodyHeaders(kind, body), ...f.headers],
          body: f.body,
          framing: f.framing,
          halfClose: f.halfClose,
          omitHost: f.omitHost,
        })),
      ),
    ),
  });

  strategies.push({
    weight: 1,
    arbitrary: fc
      .tuple(base(-1), fc.constantFrom('PUT', 'POST', 'PATCH', 'DELETE', 'GET', 'OPTIONS', 'TRACE', 'PROPFIND'))
      .filter(([, m]) => m !== op.method)
      .map(([b, method]) => ({
        ...b,
        method,
        mutation: `method ${method}`,
        headers: [['Content-Type', JSON_TYPE]],
        body: method === 'GET' || method === 'OPTIONS' ? undefined : utf8('{}'),
      })),
  });

  return fc.oneof(...strategies).map((built) => finish(op, built));
}

function hostilePathValue(): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...PATH_PROBES), weight: 4 },
    { arbitrary: hostileString.map((s) => encodeValue(s.value)), weight: 2 },
    { arbitrary: fc.integer({ min: 65, max: 20_000 }).map((n) => 'a'.repeat(n)), weight: 1 },
    { arbitrary: fc.constantFrom('a/b', 'a/../b', '..%2F', '%2e%2e/%2e%2e'), weight: 1 },
  );
}

interface QueryCase {
  query: string;
  label: string;
  expect?: FuzzCase['expect'];
}

function strictIntegerExpectation(name: string, value: string): FuzzCase['expect'] {
  return { status: 400, why: `${name}=${value} is not a strict decimal integer in range` };
}

function hostileQuery(world: FuzzWorld, op: Operation): fc.Arbitrary<QueryCase> {
  const integers = op.queryParams.filter(isIntegerParam).map((p) => p.name);
  const names = op.queryParams.map((p) => p.name);
  const anyName = names.length > 0 ? fc.constantFrom(...names) : fc.constantFrom('skip', 'x');
  const one = (arbitrary: fc.Arbitrary<QueryCase>, weight = 1) => ({ arbitrary, weight });
  const options = [
    one(
      fc
        .tuple(anyName, hostileString)
        .map(([n, s]) => ({ query: `${n}=${encodeValue(s.value)}`, label: `${n}: ${s.label}` })),
    ),
    one(
      fc
        .tuple(anyName, fc.constantFrom('%', '%zz', '%c0%af', '%ff', '%00', '%ED%A0%80', '+', '%2B', '&&&', '=', '=='))
        .map(([n, v]) => ({ query: `${n}=${v}`, label: `${n}=${v}` })),
    ),
    one(anyName.map((n) => ({ query: `${n}=1&${n}=2`, label: `repeated ${n}` }))),
    one(anyName.map((n) => ({ query: `${n}[]=1&${n}[a]=2`, label: `bracketed ${n}` }))),
    one(
      fc
        .constantFrom('__proto__[x]=1', 'constructor[prototype][x]=1', 'unknown=1', `q=${'x'.repeat(10_000)}`, '&', '?')
        .map((q) => ({ query: q, label: q.slice(0, 40) })),
    ),
    one(
      fc.integer({ min: 100, max: 2000 }).map((n) => ({
        query: Array.from({ length: n }, (_, i) => `p${i}=${i}`).join('&'),
        label: `${n} parameters`,
      })),
    ),
  ];
  if (integers.length > 0) {
    // Strict integers are the most common query problem: half of the hostile queries probe them.
    const probe = fc.tuple(fc.constantFrom(...integers), fc.constantFrom(...STRICT_INTEGER_PROBES)).map(([n, v]) => ({
      query: `${n}=${v}`,
      label: `${n}=${v}`,
      expect: MUST_REFUSE.has(v) || (v === '-1' && n === 'skip') ? strictIntegerExpectation(n, v) : undefined,
    }));
    options.push(one(probe, options.length));
  }
  return fc.oneof(...options);
}

function ndjsonQuery(world: FuzzWorld): fc.Arbitrary<{ query?: string; label?: string }> {
  return fc.oneof(
    { arbitrary: fc.constant({}), weight: 4 },
    fc.constantFrom(...STRICT_INTEGER_PROBES).map((v) => ({
      query: `model=${world.seedModel}&version=${v}`,
      label: `version=${v}`,
    })),
    fc.constantFrom('', 'model=', 'version=1', 'model=NOPE', `model=${world.seedModel}&model=x`).map((q) => ({
      query: q,
      label: `query ${JSON.stringify(q)}`,
    })),
  );
}

interface HeaderCase {
  headers: Array<[string, string]>;
  label: string;
}

function oddHeader(): fc.Arbitrary<HeaderCase> {
  const one = (name: string, values: string[]) =>
    fc.constantFrom(...values).map((v) => ({
      headers: [[name, v]] as Array<[string, string]>,
      label: `${name}: ${v.length > 40 ? `${v.slice(0, 20)}… (${v.length} chars)` : JSON.stringify(v)}`,
    }));
  return fc.oneof(
    one('X-Request-Id', [
      'x'.repeat(129),
      'x'.repeat(1000),
      'x'.repeat(8000),
      'x'.repeat(17_000),
      '',
      'a b',
      '../../x',
      '<script>',
      'ü',
      'a\u0001b',
    ]),
    one('Cache-Control', [
      'no-cache',
      'no-store',
      'max-age=0',
      'max-age=-1',
      'max-age=99999999999999999999',
      'no-cache, no-cache, no-store',
      'only-if-cached',
      'no-transform, garbage=,,',
      'x'.repeat(5000),
    ]),
    one('Accept', ['text/html', 'application/xml', '*/*;q=0', 'application/json;q=0', 'x'.repeat(3000), '']),
    one('Accept-Encoding', ['gzip;q=0, identity;q=0', 'br', '*;q=0', 'x'.repeat(2000)]),
    one('Range', [
      'bytes=0-0',
      'bytes=100-50',
      'bytes=-1',
      'bytes=0-99999999999999999999',
      'items=0-1',
      `bytes=${'0-1,'.repeat(500)}0-1`,
    ]),
    one('If-None-Match', ['*', '"x"', 'W/"garbage', 'x'.repeat(3000)]),
    one('If-Modified-Since', ['garbage', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT']),
    one('Expect', ['100-continue', 'garbage']),
    one('Origin', ['http://evil.example', 'null', 'x'.repeat(2000)]),
    one('Authorization', ['Bearer x', 'Basic ' + 'A'.repeat(5000), '']),
    one('Cookie', [`a=${'x'.repeat(8000)}`, 'a=b; a=c', ';;;']),
    one('X-Forwarded-For', ['1.1.1.1, ::1, garbage', 'x'.repeat(4000)]),
    one('Connection', ['keep-alive, Upgrade', 'Upgrade']),
    fc.integer({ min: 50, max: 90 }).map((n) => ({
      headers: Array.from({ length: n }, (_, i) => [`X-Junk-${i}`, 'v'] as [string, string]),
      label: `${n} extra headers`,
    })),
  );
}

interface FramingCase {
  headers: Array<[string, string]>;
  body: Uint8Array;
  framing: FuzzCase['framing'];
  label: string;
  halfClose?: boolean;
  omitHost?: boolean;
}

function oddFraming(body: Uint8Array): fc.Arbitrary<FramingCase> {
  const n = body.length;
  const withBody = (label: string, headers: Array<[string, string]>, extra: Partial<FramingCase> = {}) => ({
    headers,
    body,
    framing: 'as-headers' as const,
    label,
    ...extra,
  });
  return fc.oneof<fc.Arbitrary<FramingCase>[]>(
    fc.constant({ headers: [], body, framing: 'chunked', label: 'Transfer-Encoding: chunked' }),
    fc
      .integer({ min: 1, max: Math.max(1, Math.min(n, 8)) })
      .map((short) => Math.min(short, n))
      .map((short) => withBody(`Content-Length ${n - short} for ${n} bytes`, [['Content-Length', String(n - short)]])),
    fc.integer({ min: 1, max: 1000 }).map((more) =>
      withBody(`Content-Length ${n + more} for ${n} bytes, client hangs up`, [['Content-Length', String(n + more)]], {
        halfClose: true,
      }),
    ),
    fc
      .constantFrom('-1', 'abc', '1, 2', '99999999999999999999', ' 5', '0x10', '')
      .map((v) => withBody(`Content-Length ${JSON.stringify(v)}`, [['Content-Length', v]])),
    fc.constant(
      withBody('two different Content-Length headers', [
        ['Content-Length', String(n)],
        ['Content-Length', String(n + 1)],
      ]),
    ),
    fc.constant(
      withBody('Content-Length and Transfer-Encoding', [
        ['Content-Length', String(n)],
        ['Transfer-Encoding', 'chunked'],
      ]),
    ),
    fc
      .constantFrom('gzip', 'chunked, identity', 'identity', 'gzip, chunked', 'chunked, chunked', 'x-unknown')
      .map((te) => withBody(`Transfer-Encoding: ${te} (body sent plain)`, [['Transfer-Encoding', te]])),
    fc.constant({
      headers: [['Transfer-Encoding', 'chunked']] as Array<[string, string]>,
      body: new Uint8Array(Buffer.concat([Buffer.from(`zz\r\n`), Buffer.from(body), Buffer.from('\r\n0\r\n\r\n')])),
      framing: 'as-headers' as const,
      label: 'chunked body with a bad chunk size',
    }),
    fc.constant({
      headers: [['Transfer-Encoding', 'chunked']] as Array<[string, string]>,
      body: new Uint8Array(
        Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), Buffer.from(body), Buffer.from('\r\n')]),
      ),
      framing: 'as-headers' as const,
      label: 'chunked body without the last chunk, client hangs up',
      halfClose: true,
    }),
    fc.constant({
      headers: [['Transfer-Encoding', 'chunked']] as Array<[string, string]>,
      body: new Uint8Array(
        Buffer.concat([
          Buffer.from(`${n.toString(16)};${'e'.repeat(3000)}=1\r\n`),
          Buffer.from(body),
          Buffer.from('\r\n0\r\n\r\n'),
        ]),
      ),
      framing: 'as-headers' as const,
      label: 'chunked body with a huge chunk extension',
    }),
    fc.constant({ ...withBody('no Host header', []), framing: 'content-length' as const, omitHost: true }),
    fc.constant(withBody('folded header line', [['X-Folded', 'a\r\n b']])),
    fc.constant(withBody('header name with a space', [['X Bad', '1']])),
    fc.constant(withBody('NUL in a header value', [['X-Nul', 'a\u0000b']])),
  );
}

/** Requests to paths the document does not have: traversal and encoding tricks on the whole URL. */
export function unknownRouteCase(): fc.Arbitrary<FuzzCase> {
  return fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH'),
      fc.constantFrom(
        '/api/v1/../../etc/passwd',
        '/api/v1/%2e%2e/%2e%2e/etc/passwd',
        '/api/v1/models/..%2f..%2f..%2fetc%2fpasswd',
        '//api//v1//models',
        '/api/v1/models/%00',
        '/api/v1/models/iris/versions/1/file/../../../../etc/passwd',
        '/docs/../../package.json',
        '/%ff',
        '/api/v1/nothing',
        '*',
        `/${'a'.repeat(9000)}`,
        'http://evil.example/api/v1/models',
      ),
    )
    .map(([method, target]) => ({
      operationId: 'unknownRoute',
      mutation: `unknown route ${target.slice(0, 60)}`,
      method,
      path: [target],
      query: '',
      headers: [],
      body: method === 'GET' ? undefined : utf8('{}'),
      framing: 'content-length' as const,
    }));
}

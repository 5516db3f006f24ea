/**
 * Requests for every operation of the OpenAPI document: valid ones, and ones mutated in the body,
 * the path, the query, the headers or the HTTP framing.
 */
import fc from 'fast-check';
import { BodyLimits, EMPTY, FuzzCase, GeneratedBody, PathPart, utf8 } from './fuzz-case';
import { brokenJson, deepBody, mutatedJson, oddEncoding, sizedJson } from './json-bodies';
import { toJsonText } from './json-text';
import { multipartBody, validUpload } from './multipart-bodies';
import { ndjsonBody, validNdjson } from './ndjson-bodies';
import { Operation, Parameter } from './openapi-operations';
import { encodeValue, hostilePathValue, hostileQuery, ndjsonQuery, pathExpectation } from './parameter-cases';
import { oddFraming, oddHeader } from './protocol-cases';
import { FuzzWorld, modelName, seedInputs, validValue } from './schema-values';
import { hostileTensor } from './tensor-values';

const JSON_TYPE = 'application/json';
const NDJSON_TYPE = 'application/x-ndjson';
const MULTIPART_TYPE = 'multipart/form-data';

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
            expect: pathExpectation(p, v),
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

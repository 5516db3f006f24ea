/** Hostile path and query parameters: traversal, broken encodings, strict-integer probes. */
import fc from 'fast-check';
import { FuzzCase } from './fuzz-case';
import { hostileString } from './hostile-values';
import { Operation, Parameter } from './openapi-operations';
import { FuzzWorld } from './schema-values';

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
 * The probes no strict decimal reading accepts (docs/api.md: integer parameters are strict decimal with
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
export function encodeValue(value: unknown): string {
  return [...Buffer.from(String(value), 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

export function isIntegerParam(p: Parameter): boolean {
  return p.schema.type === 'integer' || p.schema.type === 'number';
}

export function hostilePathValue(): fc.Arbitrary<string> {
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

/** What the contract demands for a hostile value of a path parameter, beyond "no 5xx". */
export function pathExpectation(p: Parameter, value: string): FuzzCase['expect'] {
  return isIntegerParam(p) && (MUST_REFUSE.has(value) || value === '-1')
    ? strictIntegerExpectation(p.name, value)
    : undefined;
}

export function hostileQuery(world: FuzzWorld, op: Operation): fc.Arbitrary<QueryCase> {
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

export function ndjsonQuery(world: FuzzWorld): fc.Arbitrary<{ query?: string; label?: string }> {
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

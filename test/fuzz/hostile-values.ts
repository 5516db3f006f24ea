/**
 * Values a careless or hostile client sends: each arbitrary yields a value plus a short label,
 * so a failing request can say what was hostile about it.
 */
import fc from 'fast-check';
import { deepNesting, JsonEntries, RawJson } from './json-text';

export interface Labelled<T> {
  value: T;
  label: string;
}

const labelled = <T>(label: string, arb: fc.Arbitrary<T>): fc.Arbitrary<Labelled<T>> =>
  arb.map((value) => ({ value, label }));

/** Strings that break naive handling: odd unicode, control characters, traversal, sheer length. */
export const hostileString: fc.Arbitrary<Labelled<string>> = fc.oneof(
  labelled('lone surrogate', fc.constantFrom('\ud800', 'a\udfffb', '\udc00\ud800', `x${'\ud83d'}`)),
  labelled('RTL override', fc.constantFrom('\u202egnp.exe', 'abc\u202edef\u202c', '\u200f\u061c\u2067x')),
  labelled('NUL and controls', fc.constantFrom('\u0000', 'a\u0000b', '\r\n\t\b\f', '\u001b[31m', '\u007f\u0085')),
  labelled('zero width and BOM', fc.constantFrom('\ufeff', '\u200b\u200c\u200d', '\ufeffiris')),
  labelled(
    'combining marks',
    fc.integer({ min: 10, max: 3000 }).map((n) => `a${'\u0301'.repeat(n)}`),
  ),
  labelled('astral characters', fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
  labelled('any code points', fc.string({ unit: 'binary', minLength: 1, maxLength: 64 })),
  labelled('path traversal', fc.constantFrom('../../etc/passwd', '..\\..\\windows', '%2e%2e%2f', '/etc/passwd', '.')),
  labelled(
    'format and markup',
    fc.constantFrom('%s%n%x', '${7*7}', '{{7*7}}', '<script>x</script>', "'; DROP TABLE models;--"),
  ),
  labelled('number-like', fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e20', '0x10', ' 1', '-0', '')),
  labelled(
    'long string',
    fc.integer({ min: 2001, max: 20_000 }).map((n) => 'x'.repeat(n)),
  ),
);

/** Numbers out of any sane range, as raw JSON tokens where JSON.stringify cannot write them. */
export const hostileNumber: fc.Arbitrary<Labelled<unknown>> = fc.oneof(
  labelled('huge number', fc.constantFrom(1e20, 1e308, -1e308, 2 ** 53 + 2, 2 ** 63, 4294967296, 2147483648)),
  labelled('negative number', fc.constantFrom(-1, -2147483649, -0.5, -1e20)),
  labelled('fraction', fc.constantFrom(0.5, 1.0000001, 5e-324, 1e-7)),
  labelled('zero', fc.constantFrom(0, -0)),
  labelled(
    'raw number token',
    fc.constantFrom('1e400', '-1e400', '99999999999999999999', '1E2', '-0.0', '1.0', '123456789012345678901234567890'),
  ).map(({ value, label }) => ({ value: new RawJson(value) as unknown, label })),
  labelled('NaN/Infinity string', fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e20', '0x10')),
  labelled('any double', fc.double()),
  labelled('any integer', fc.integer()),
);

/** Objects whose keys attack prototypes or repeat. */
export const hostileObject: fc.Arbitrary<Labelled<unknown>> = fc.oneof(
  labelled(
    'prototype keys',
    fc
      .subarray(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'], { minLength: 1 })
      .map((keys) => new JsonEntries(keys.map((k) => [k, { polluted: true, isAdmin: true }] as const))),
  ),
  labelled(
    '__proto__ with a value',
    fc.constantFrom<unknown>(null, 1, 'x', [1], { x: 1 }).map((v) => new JsonEntries([['__proto__', v]])),
  ),
  labelled(
    'duplicate keys',
    fc.constantFrom(
      new JsonEntries([
        ['a', 1],
        ['a', { b: 2 }],
      ]),
      new JsonEntries([
        ['x', []],
        ['x', 'y'],
      ]),
    ),
  ),
  labelled('empty object', fc.constant({})),
);

/** Nesting thousands of levels deep, the shape that overflowed recursive validators. */
export const deepValue: fc.Arbitrary<Labelled<unknown>> = fc
  .tuple(fc.integer({ min: 500, max: 12_000 }), fc.constantFrom<'array' | 'object'>('array', 'object'))
  .map(([depth, kind]) => ({ value: deepNesting(depth, kind), label: `deep nesting (${depth} ${kind}s)` }));

/** Any JSON value of the wrong kind for a field, or a hostile one of the right kind. */
export const hostileValue: fc.Arbitrary<Labelled<unknown>> = fc.oneof(
  { arbitrary: hostileString as fc.Arbitrary<Labelled<unknown>>, weight: 3 },
  { arbitrary: hostileNumber, weight: 3 },
  { arbitrary: hostileObject, weight: 2 },
  { arbitrary: deepValue, weight: 2 },
  { arbitrary: labelled('null', fc.constant(null)), weight: 1 },
  { arbitrary: labelled('boolean', fc.boolean()), weight: 1 },
  { arbitrary: labelled('wrong-typed array', fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 })), weight: 1 },
  {
    arbitrary: labelled(
      'big array',
      fc.integer({ min: 100, max: 5000 }).map((n) => new Array<number>(n).fill(1)),
    ),
    weight: 1,
  },
  { arbitrary: labelled('random JSON', fc.jsonValue({ maxDepth: 3 })), weight: 2 },
);

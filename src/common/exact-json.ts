import { isInteger, parse } from 'lossless-json';

/**
 * JSON text parsed with its integers exact. JSON.parse rounds an integer literal past 2^53 to the
 * nearest double, so an INT64 or UINT64 value written as plain digits (as Triton, numpy-based
 * clients and our own responses write them) would arrive changed. JSON.parse stays the path for
 * every text without such a literal; the rest go through lossless-json, which hands each number's
 * digits to `exactNumber`.
 */
export function parseJsonExact(text: string): unknown {
  if (!hasLongIntegerLiteral(text)) return JSON.parse(text);
  return parse(text, null, { parseNumber: exactNumber, onDuplicateKey: lastValue });
}

/**
 * An integer literal of 16 or more digits (2^53 has 16; every integer with fewer is exact): a run of digits starting the text or after a
 * delimiter or a minus sign (a fraction's digits follow a point, an exponent's an `e` or `+`), not
 * followed by a fraction or an exponent. Digits in a string, or a 16-digit negative exponent, may
 * match too; they only cost the slower parse. Starting from delimiters rather than looking behind
 * each digit keeps this one pass at about a fifth of JSON.parse on a body of floats.
 */
const LONG_INTEGER = /(?:^|[[,:\s-])\d{16}(?!\d*[.eE])/;

export function hasLongIntegerLiteral(text: string): boolean {
  return LONG_INTEGER.test(text);
}

/** A safe number as JSON.parse gives it; an integer past 2^53 as an exact BigInt. */
function exactNumber(digits: string): number | bigint {
  const value = Number(digits);
  return Number.isSafeInteger(value) || !isInteger(digits) ? value : BigInt(digits);
}

/** A key given twice keeps its last value, as JSON.parse does (lossless-json refuses it by default). */
function lastValue({ newValue }: { newValue: unknown }): unknown {
  return newValue;
}

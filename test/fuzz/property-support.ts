/** Shared settings and checks of the parser property tests. */
import fc from 'fast-check';
import { DomainError, STATUS_BY_KIND } from '../../src/common/errors';
import { toJsonText } from './json-text';

/** Fixed in CI so every run checks the same inputs; FUZZ_SEED explores others. */
export const PROPERTY_SEED = Number(process.env.FUZZ_SEED ?? 20260801);

export function runs(numRuns: number): fc.Parameters<unknown> {
  return { seed: PROPERTY_SEED, numRuns, includeErrorInReport: true };
}

/** True for a domain error the HTTP layer answers with a 4xx; anything else is a bug. */
export function isClientError(error: unknown): error is DomainError {
  return error instanceof DomainError && STATUS_BY_KIND[error.kind] >= 400 && STATUS_BY_KIND[error.kind] < 500;
}

/** Runs `parse` and returns its result, or undefined for a 4xx domain error; rethrows anything else. */
export function resultOrClientError<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (isClientError(error)) return undefined;
    throw error;
  }
}

export async function settleOrClientError<T>(parse: () => Promise<T>): Promise<T | undefined> {
  try {
    return await parse();
  } catch (error) {
    if (isClientError(error)) return undefined;
    throw error;
  }
}

/** A generated value (with the RawJson/JsonEntries markers) as a parsed JavaScript value. */
export function asParsedJson(value: unknown): unknown {
  return JSON.parse(toJsonText(value));
}

/** Attaches a short description fast-check prints for a counterexample (deep values overflow its printer). */
export function described<T extends object>(value: T, describe: (value: T) => string): T {
  Object.defineProperty(value, fc.toStringMethod, { value: () => describe(value), enumerable: false });
  return value;
}

/** JSON text of a value, cut to `max` characters. */
export function preview(value: unknown, max = 300): string {
  const text = toJsonText(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

import { InvalidInputError } from './errors';

/**
 * Deepest nesting of arrays and objects accepted in a JSON body. A tensor of rank R inside a
 * prediction or job body nests R + 3 deep; validators and transformers recurse, so thousands of
 * levels would overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Calls `visit` for each bracket and brace outside strings (whether it opens, and its index) until
 * `visit` returns true. Malformed text is scanned all the same, for JSON.parse to report.
 */
function scanBrackets(bytes: Uint8Array, visit: (opening: boolean, index: number) => boolean): void {
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (visit(true, i)) return;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      if (visit(false, i)) return;
    }
  }
}

/**
 * Refuses (400) a JSON text nested deeper than `maxDepth`, in one pass over the bytes and before
 * anything parses it. Brackets inside strings do not count.
 */
export function checkJsonDepth(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0;
  scanBrackets(bytes, (opening) => {
    depth += opening ? 1 : -1;
    if (depth > maxDepth) {
      throw new InvalidInputError(`The JSON body is nested deeper than ${maxDepth} levels`, [
        { field: 'body', problem: `must not nest arrays and objects deeper than ${maxDepth} levels` },
      ]);
    }
    return false;
  });
}

/**
 * Where the first array or object of `bytes` closes (the index after its last byte), or undefined
 * if it never does: finds a JSON header followed by other bytes in a body sent without its length.
 */
export function firstValueEnd(bytes: Uint8Array): number | undefined {
  let depth = 0;
  let end: number | undefined;
  scanBrackets(bytes, (opening, index) => {
    depth += opening ? 1 : -1;
    if (depth === 0) end = index + 1;
    return depth <= 0;
  });
  return end;
}

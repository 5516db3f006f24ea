/** One generated request, as pure data: the same seed and index always give the same case. */

/** A path piece: literal text, or the n-th id the service handed out (resolved when sending). */
export type PathPart = string | { ref: 'job' | 'prediction'; pick: number };

export type Framing =
  /** Content-Length of the body (when there is one, or for POST/PUT/PATCH). */
  | 'content-length'
  /** Transfer-Encoding: chunked, the body in a few chunks. */
  | 'chunked'
  /** Framing exactly as in `headers` (mismatched or missing lengths), the body as is. */
  | 'as-headers';

export interface FuzzCase {
  operationId: string;
  /** What is hostile about the request, in words; 'valid' for a well-formed one. */
  mutation: string;
  method: string;
  path: PathPart[];
  /** Raw query string, without '?'. */
  query: string;
  headers: Array<[string, string]>;
  body?: Uint8Array;
  framing: Framing;
  /** The client stops sending (half-closes) after the request: no answer is owed. */
  halfClose?: boolean;
  /** Leave out the Host header. */
  omitHost?: boolean;
  /** A status the contract demands for this request beyond "no 5xx" (a strict-integer probe: 400). */
  expect?: { status: number; why: string };
}

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

export const EMPTY = new Uint8Array(0);

export function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

export function jsonHeaders(type = 'application/json'): Array<[string, string]> {
  return [['Content-Type', type]];
}

/** A readable, reproducible description: request line, headers and the start of the body. */
export function describeCase(c: FuzzCase, target: string): string {
  const lines = [`${c.method} ${printable(target, 300)}`];
  for (const [name, value] of c.headers) lines.push(`  ${name}: ${printable(value, 200)}`);
  if (c.framing !== 'content-length')
    lines.push(`  (framing: ${c.framing}${c.halfClose ? ', client half-closes' : ''})`);
  if (c.omitHost) lines.push('  (no Host header)');
  if (c.body && c.body.length > 0) {
    lines.push(`  body (${c.body.length} bytes): ${printable(Buffer.from(c.body).toString('latin1'), 400)}`);
  }
  return lines.join('\n');
}

/** Control and non-ASCII characters escaped, long text cut with its length. */
export function printable(text: string, max: number): string {
  const shown = text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
  return shown.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

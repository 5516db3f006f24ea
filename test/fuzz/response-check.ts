/** What every answer must satisfy, whatever was sent (docs/api.md: status codes and the error body). */
import type { FuzzCase } from './fuzz-case';
import type { WireOutcome, WireResponse } from './wire';

export const MAX_ERROR_MESSAGE = 2048;

const ERROR_KEYS = new Set(['statusCode', 'error', 'message', 'requestId', 'details']);

export interface Violation {
  /** A short, stable name: findings are grouped by it. */
  rule: 'server-error' | 'error-body' | 'no-response' | 'timeout' | 'bad-json' | 'contract';
  detail: string;
}

/** An answer is fine when it is not a 5xx (503 with Retry-After aside) and every error has the documented body. */
export function checkOutcome(
  outcome: WireOutcome,
  request: Pick<FuzzCase, 'halfClose' | 'expect'> & Partial<Pick<FuzzCase, 'path'>>,
): Violation[] {
  if (outcome.kind === 'timeout') return [{ rule: 'timeout', detail: `no answer within ${outcome.ms} ms` }];
  if (outcome.kind === 'no-response') {
    // A client that stops sending mid-body is owed nothing; anyone else is owed an answer.
    return request.halfClose ? [] : [{ rule: 'no-response', detail: outcome.reason }];
  }
  const head = request.path?.[0];
  const route = typeof head === 'string' ? protocolRoute(head, request.path!.at(-1)) : undefined;
  const violations = checkResponse(outcome.response, route);
  const { status } = outcome.response;
  if (request.expect && status !== request.expect.status && status < 500) {
    violations.push({
      rule: 'contract',
      detail: `status ${status}, expected ${request.expect.status}: ${request.expect.why}`,
    });
  }
  return violations;
}

/**
 * Open Inference Protocol routes (under /v2) answer their own error body, `{"error": "..."}`, and
 * their readiness answers "not ready" as a bare 503: the status is the answer.
 */
type ProtocolRoute = 'protocol' | 'protocol-ready';

function protocolRoute(head: string, tail: unknown): ProtocolRoute | undefined {
  if (head !== '/v2' && !head.startsWith('/v2/')) return undefined;
  return typeof tail === 'string' && tail.endsWith('/ready') ? 'protocol-ready' : 'protocol';
}

export function checkResponse(response: WireResponse, route?: ProtocolRoute): Violation[] {
  const violations: Violation[] = [];
  const { status } = response;
  const notReady = status === 503 && route === 'protocol-ready' && response.body.length === 0;
  if (notReady) return violations;
  if (status >= 500 && !(status === 503 && response.headers['retry-after'] !== undefined)) {
    violations.push({ rule: 'server-error', detail: `status ${status}` });
  }
  if (status >= 400) {
    const problem = route ? protocolErrorBodyProblem(response) : errorBodyProblem(response);
    if (problem) violations.push({ rule: 'error-body', detail: problem });
  } else if (/json/i.test(response.headers['content-type'] ?? '') && response.body.length > 0) {
    try {
      JSON.parse(response.body.toString('utf8'));
    } catch (error) {
      violations.push({
        rule: 'bad-json',
        detail: `a ${status} JSON body does not parse: ${(error as Error).message}`,
      });
    }
  }
  return violations;
}

/** Why an error answer under /v2 is not exactly `{"error": "..."}`, or undefined. */
function protocolErrorBodyProblem(response: WireResponse): string | undefined {
  const type = response.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) return `Content-Type ${JSON.stringify(type)}`;
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  const b = body as Record<string, unknown> | null;
  if (b === null || typeof b !== 'object' || Object.keys(b).join() !== 'error')
    return 'the body is not exactly {error}';
  if (typeof b.error !== 'string' || b.error === '') return 'error is not a non-empty string';
  if (b.error.length > MAX_ERROR_MESSAGE) return `error of ${b.error.length} characters (max ${MAX_ERROR_MESSAGE})`;
  if (!response.headers['x-request-id']) return 'no X-Request-Id header';
  return undefined;
}

/** Why an error answer is not `{statusCode, error, message, requestId, details?}`, or undefined. */
export function errorBodyProblem(response: WireResponse): string | undefined {
  const type = response.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    return `Content-Type ${JSON.stringify(type)} (body ${JSON.stringify(response.body.subarray(0, 80).toString('latin1'))})`;
  }
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body is not a JSON object';
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).filter((k) => !ERROR_KEYS.has(k));
  if (extra.length > 0) return `unexpected keys ${extra.join(', ')}`;
  if (b.statusCode !== response.status) return `statusCode ${String(b.statusCode)} differs from the status`;
  if (typeof b.error !== 'string' || b.error === '') return 'error is not a non-empty string';
  if (typeof b.message !== 'string') return 'message is not a string';
  if (b.message.length > MAX_ERROR_MESSAGE)
    return `message of ${b.message.length} characters (max ${MAX_ERROR_MESSAGE})`;
  if (typeof b.requestId !== 'string' || b.requestId === '') return 'requestId is not a non-empty string';
  if (response.headers['x-request-id'] !== b.requestId) return 'requestId differs from the X-Request-Id header';
  if (b.details !== undefined) {
    if (!Array.isArray(b.details)) return 'details is not an array';
    const bad = b.details.find(
      (d: unknown) =>
        d === null ||
        typeof d !== 'object' ||
        typeof (d as Record<string, unknown>).field !== 'string' ||
        typeof (d as Record<string, unknown>).problem !== 'string',
    );
    if (bad !== undefined) return `a detail is not {field, problem}: ${JSON.stringify(bad).slice(0, 100)}`;
  }
  return undefined;
}

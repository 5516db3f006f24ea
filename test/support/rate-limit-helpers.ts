import assert from 'node:assert/strict';
import type { Response } from 'supertest';
import { authed, TestApp } from './test-app';

/** Creates an API key as the app's admin and returns its secret. */
export async function createKey(
  t: TestApp,
  body: { role: string; rateLimitPerMinute?: number; name?: string },
): Promise<string> {
  const res = await authed(t)
    .post('/api/v1/auth/keys')
    .send({ name: body.name ?? `${body.role}-${Math.random().toString(36).slice(2, 8)}`, ...body })
    .expect(201);
  return res.body.key as string;
}

/** The RateLimit fields of a response, as numbers (undefined when absent). */
export function rateLimitOf(res: Response): {
  limit?: number;
  remaining?: number;
  reset?: number;
  retryAfter?: number;
} {
  const num = (name: string) => (res.headers[name] === undefined ? undefined : Number(res.headers[name]));
  return {
    limit: num('ratelimit-limit'),
    remaining: num('ratelimit-remaining'),
    reset: num('ratelimit-reset'),
    retryAfter: num('retry-after'),
  };
}

/** A 429 of the rate limiter: the docs/api.md error body, Retry-After and the RateLimit fields. */
export function assertRateLimited(res: Response, limit: number): void {
  assert.equal(res.status, 429, `expected 429, got ${res.status}: ${JSON.stringify(res.body)}`);
  assert.deepEqual(Object.keys(res.body).sort(), ['error', 'message', 'requestId', 'statusCode']);
  assert.equal(res.body.statusCode, 429);
  assert.equal(res.body.error, 'Too Many Requests');
  assert.match(
    res.body.message,
    new RegExp(`Rate limit exceeded: this credential may make ${limit} requests per minute`),
  );
  assert.equal(res.body.requestId, res.headers['x-request-id']);
  const fields = rateLimitOf(res);
  assert.equal(fields.limit, limit);
  assert.equal(fields.remaining, 0);
  assert.ok(fields.retryAfter !== undefined && fields.retryAfter >= 1, `Retry-After ${fields.retryAfter}`);
  assert.equal(fields.reset, fields.retryAfter, 'RateLimit-Reset names the same instant as Retry-After');
  assert.equal(res.headers['ratelimit-policy'], `${limit};w=60`);
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../principal';
import { limitOf, rateLimitHeaders } from './token-bucket-rate-limits';

const DEFAULTS = { admin: 0, maintainer: 100, predictor: 50, viewer: 10 };

function principal(role: Principal['role'], rateLimitPerMinute: number | null): Principal {
  return { kind: 'key', id: 'k', name: 'k', role, actor: 'key:k', models: null, rateLimitPerMinute };
}

describe('limitOf', () => {
  it("takes the credential's own limit over its role's default", () => {
    assert.equal(limitOf(principal('viewer', 3), DEFAULTS), 3);
    assert.equal(limitOf(principal('viewer', null), DEFAULTS), 10);
  });

  it('leaves admins unlimited by default, unless the credential sets a limit', () => {
    assert.equal(limitOf(principal('admin', null), DEFAULTS), 0);
    assert.equal(limitOf(principal('admin', 5), DEFAULTS), 5);
  });
});

describe('rateLimitHeaders', () => {
  it('sends the RateLimit fields, and Retry-After only on a refusal', () => {
    const outcome = { limit: 3, remaining: 2, resetSeconds: 20, retryAfterSeconds: 20 };
    assert.deepEqual(rateLimitHeaders({ ...outcome, allowed: true }), {
      'RateLimit-Limit': '3',
      'RateLimit-Remaining': '2',
      'RateLimit-Reset': '20',
      'RateLimit-Policy': '3;w=60',
    });
    assert.equal(rateLimitHeaders({ ...outcome, remaining: 0, allowed: false })['Retry-After'], '20');
  });
});

/**
 * Credentials for the access-control specs: API keys created over HTTP, a JWT signed with the
 * app's own secret but expired, and the fixed secrets the specs configure.
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import type { Role } from '../../src/auth/roles';

/** METRICS_TOKEN of the access specs (32+ characters). */
export const TEST_METRICS_TOKEN = 'test-metrics-token-0123456789abcdefghijklmnop';
/** JWT_SECRET of the access specs (32+ characters). */
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdefghijklmnopqrstuv';

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  role: Role;
  [field: string]: unknown;
}

export interface KeyRequest {
  name: string;
  role: Role;
  expiresAt?: string;
  models?: string[];
  rateLimitPerMinute?: number;
}

/** POST /api/v1/auth/keys with an admin credential; the created key (201) or a failed assertion. */
export async function createKey(baseUrl: string, adminCredential: string, body: KeyRequest): Promise<CreatedKey> {
  const res = await fetch(`${baseUrl}/api/v1/auth/keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminCredential}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 201, `creating key ${body.name}: ${text}`);
  return JSON.parse(text) as CreatedKey;
}

/** DELETE /api/v1/auth/keys/{id} with an admin credential (204). */
export async function revokeKey(baseUrl: string, adminCredential: string, id: string): Promise<void> {
  const res = await fetch(`${baseUrl}/api/v1/auth/keys/${id}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${adminCredential}` },
  });
  assert.equal(res.status, 204, `revoking key ${id}: ${await res.text()}`);
}

/** GET /api/v1/auth/me with a credential: the status and the body. */
export async function whoAmI(baseUrl: string, credential: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${credential}` } });
  return { status: res.status, body: (await res.json()) as unknown };
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * An HS256 JWT for an admin user, signed with `secret` and with the default issuer and audience,
 * that expired half an hour ago: everything about it is right except its age, so a 401 proves the
 * expiry check (and, before access tokens exist, that a JWT-shaped token that does not verify fails).
 */
export function expiredJwt(secret: string = TEST_JWT_SECRET, claims: { iss?: string; aud?: string } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url({ alg: 'HS256', typ: 'JWT' });
  const payload = base64url({
    sub: randomUUID(),
    role: 'admin',
    username: 'matrix-admin',
    iss: claims.iss ?? 'modelforge',
    aud: claims.aud ?? 'modelforge-api',
    iat: now - 3600,
    nbf: now - 3600,
    exp: now - 1800,
    jti: randomUUID(),
  });
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

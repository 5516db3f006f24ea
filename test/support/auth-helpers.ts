/**
 * Credentials for the access-control specs: API keys created over HTTP, users and logins, a JWT
 * signed with the app's own secret but expired, and the fixed secrets the specs configure.
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { Response, Test } from 'supertest';
import type { Role } from '../../src/auth/roles';
import { anonymous, authed, TestApp } from './test-app';

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

/** A password that passes the creation rule (12-256 characters). */
export const TEST_PASSWORD = 'correct horse battery staple';

export interface TestUser {
  id: string;
  username: string;
  role: string;
  createdAt: string;
  updatedAt: string;
}

/** Creates a user as admin (201 expected). */
export async function createUser(
  t: TestApp,
  username: string,
  role: string,
  password = TEST_PASSWORD,
): Promise<TestUser> {
  const res = await authed(t).post('/api/v1/auth/users').send({ username, password, role });
  assert.equal(res.status, 201, res.text);
  return res.body as TestUser;
}

/** The `mf_refresh` value a response sets, if any ('' when it clears the cookie). */
export function refreshCookieOf(res: Response | { headers: http.IncomingHttpHeaders }): string | undefined {
  const raw = res.headers['set-cookie'] as string[] | string | undefined;
  const cookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const cookie = cookies.find((c) => c.startsWith('mf_refresh='));
  return cookie === undefined ? undefined : decodeURIComponent(cookie.slice('mf_refresh='.length).split(';')[0]);
}

export interface LoggedIn {
  accessToken: string;
  refreshToken: string;
}

/** Logs in (200 expected) and returns the access token and the refresh cookie's value. */
export async function login(t: TestApp, username: string, password = TEST_PASSWORD): Promise<LoggedIn> {
  const res = await anonymous(t).post('/api/v1/auth/login').send({ username, password });
  assert.equal(res.status, 200, res.text);
  const refreshToken = refreshCookieOf(res);
  assert.ok(refreshToken, 'login sets the refresh cookie');
  return { accessToken: res.body.accessToken as string, refreshToken };
}

/** POST /api/v1/auth/refresh with the refresh cookie. */
export function refresh(t: TestApp, refreshToken: string): Test {
  return anonymous(t).post('/api/v1/auth/refresh').set('Cookie', `mf_refresh=${refreshToken}`);
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * A JSON POST sent from a chosen loopback address (127.0.0.2, 127.0.0.3, ...): the server sees a
 * different client address for each, as it would see different machines.
 */
export function postFrom(baseUrl: string, localAddress: string, path: string, body: unknown): Promise<RawAnswer> {
  const url = new URL(path, baseUrl);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : {} }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

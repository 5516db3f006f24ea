import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { Response, Test } from 'supertest';
import { anonymous, authed, TestApp } from './test-app';

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

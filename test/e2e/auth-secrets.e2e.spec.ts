/**
 * No credential ever reaches an output: the built service runs at LOG_LEVEL=debug, takes every
 * kind of credential (good, wrong, expired, revoked, in a header, a cookie, a query string, a
 * login body), and then its whole stdout and stderr, and every answer it gave, are searched for
 * each secret.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreatedKey, expiredJwt, TEST_JWT_SECRET, TEST_METRICS_TOKEN } from '../support/auth-helpers';
import { TEST_ADMIN_KEY } from '../support/credentials';
import { ServiceProcess, spawnService } from '../support/service-process';

const PASSWORD = 'Corr3ct-Horse-Battery-Staple-pw';
const COOKIE_VALUE = 'refresh-cookie-value-0123456789abcdef';
const QUERY_SECRET = 'query-string-secret-0123456789';
const WRONG_KEY = `mf_Wr0ngKey_${'W'.repeat(43)}`;
const GARBAGE = 'garbage-bearer-secret-0123456789';
const BASIC = Buffer.from(`someone:${PASSWORD}`).toString('base64');

describe('credentials never reach a log line or an error (spawned service, LOG_LEVEL=debug)', () => {
  let service: ServiceProcess;
  let created: CreatedKey;
  let accessToken = '';
  let refreshToken = '';
  const jwt = expiredJwt(TEST_JWT_SECRET);
  /** Every answer except the one create response that must show the new key. */
  const answers: { request: string; text: string }[] = [];
  let requests = 0;

  async function send(path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
    const res = await fetch(`${service.baseUrl}${path}`, init);
    const text = await res.text();
    requests += 1;
    return { status: res.status, text };
  }

  async function check(path: string, init: RequestInit = {}): Promise<number> {
    const { status, text } = await send(path, init);
    answers.push({ request: `${init.method ?? 'GET'} ${path.split('?')[0]} -> ${status}`, text });
    return status;
  }

  const bearer = (credential: string) => ({ headers: { Authorization: `Bearer ${credential}` } });
  const json = (credential: string, method: string, body: unknown): RequestInit => ({
    method,
    headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

  before(async () => {
    service = await spawnService({
      LOG_LEVEL: 'debug',
      JWT_SECRET: TEST_JWT_SECRET,
      METRICS_TOKEN: TEST_METRICS_TOKEN,
    });
    const create = await send(
      '/api/v1/auth/keys',
      json(TEST_ADMIN_KEY, 'POST', { name: 'logged', role: 'maintainer' }),
    );
    assert.equal(create.status, 201, create.text);
    created = JSON.parse(create.text) as CreatedKey;

    assert.equal(await check('/api/v1/auth/me', bearer(created.key)), 200);
    assert.equal(await check('/api/v1/models', { headers: { 'X-API-Key': created.key } }), 200);
    assert.equal(await check('/api/v1/models', json(created.key, 'POST', { name: 'logged-model' })), 201);
    assert.equal(await check('/api/v1/auth/keys', json(created.key, 'POST', { name: 'x', role: 'admin' })), 403);
    assert.equal(await check('/api/v1/auth/me', bearer(WRONG_KEY)), 401);
    assert.equal(await check('/api/v1/auth/me', bearer(GARBAGE)), 401);
    assert.equal(await check('/api/v1/auth/me', bearer(jwt)), 401);
    assert.equal(await check('/api/v1/auth/me', { headers: { Authorization: `Basic ${BASIC}` } }), 401);
    assert.equal(await check('/api/v1/auth/me', { headers: { 'X-API-Key': GARBAGE } }), 401);
    assert.equal(await check('/metrics', bearer(TEST_METRICS_TOKEN)), 200);
    assert.equal(await check('/api/v1/models', bearer(TEST_METRICS_TOKEN)), 403);
    assert.equal(await check(`/api/v1/models?api_key=${QUERY_SECRET}`, bearer(created.key)), 400);
    // A real user logs in, uses its access token and refreshes (the answers that must carry a token
    // are not searched; everything else is).
    assert.equal(
      await check(
        '/api/v1/auth/users',
        json(TEST_ADMIN_KEY, 'POST', { username: 'real-user', password: PASSWORD, role: 'viewer' }),
      ),
      201,
    );
    const login = await fetch(`${service.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'real-user', password: PASSWORD }),
    });
    requests += 1;
    assert.equal(login.status, 200);
    accessToken = ((await login.json()) as { accessToken: string }).accessToken;
    refreshToken = /mf_refresh=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? '';
    assert.ok(refreshToken, 'login set the refresh cookie');
    assert.equal(await check('/api/v1/models', bearer(accessToken)), 200);
    const refreshed = await send('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { Cookie: `mf_refresh=${refreshToken}` },
    });
    assert.equal(refreshed.status, 200);
    assert.equal(
      await check('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'real-user', password: `${PASSWORD}-wrong` }),
      }),
      401,
    );
    // Login and refresh with unknown credentials: neither the password nor the cookie may be logged or echoed.
    await check('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'secrets-user', password: PASSWORD }),
    });
    await check('/api/v1/auth/refresh', { method: 'POST', headers: { Cookie: `mf_refresh=${COOKIE_VALUE}` } });
    await check('/api/v1/auth/me', {
      headers: { Cookie: `mf_refresh=${COOKIE_VALUE}`, ...bearer(created.key).headers },
    });
    assert.equal(await check(`/api/v1/auth/keys/${created.id}`, { method: 'DELETE', ...bearer(TEST_ADMIN_KEY) }), 204);
    assert.equal(await check('/api/v1/auth/me', bearer(created.key)), 401);

    service.child.kill('SIGTERM');
    assert.equal((await service.exited).code, 0, service.stderr());
  });
  after(async () => {
    await service?.stop();
  });

  function secrets(): [string, string][] {
    return [
      ['ADMIN_API_KEY', TEST_ADMIN_KEY],
      ['the created API key', created.key],
      ['the secret part of the created key', created.key.slice(12)],
      ['JWT_SECRET', TEST_JWT_SECRET],
      ['METRICS_TOKEN', TEST_METRICS_TOKEN],
      ['a password', PASSWORD],
      ['a Basic credential', BASIC],
      ['a refresh cookie', COOKIE_VALUE],
      ['a secret in a query string', QUERY_SECRET],
      ['a wrong API key', WRONG_KEY],
      ['a garbage bearer token', GARBAGE],
      ['an expired JWT', jwt],
      ['an access token', accessToken],
      ['a real refresh token', refreshToken],
      ['the signature of an expired JWT', jwt.split('.')[2]],
    ];
  }

  it('logged every request, at debug level', () => {
    const lines = service
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg?: string });
    assert.ok(lines.filter((l) => l.msg === 'request completed').length >= requests, 'a log line per request');
    assert.ok(
      lines.some((l) => l.level === 20),
      'debug lines are written',
    );
    assert.ok(!service.stdout().includes('first start'), 'no bootstrap key is printed when ADMIN_API_KEY is set');
  });

  it('wrote none of the secrets to stdout or stderr', () => {
    const output = service.stdout() + service.stderr();
    const found = secrets()
      .filter(([, value]) => output.includes(value))
      .map(([name]) => name);
    assert.deepEqual(found, []);
    // The log scrubber (last line of defence) replaces configured secrets with ***: it never had to.
    assert.ok(!output.includes('***'), 'something tried to log a configured secret');
    assert.ok(!/"(authorization|x-api-key|cookie)"\s*:/i.test(output), 'a request header was logged');
  });

  it('echoed no credential in any answer (the create response aside)', () => {
    const found: string[] = [];
    for (const { request, text } of answers) {
      for (const [name, value] of secrets()) if (text.includes(value)) found.push(`${name} in ${request}: ${text}`);
    }
    assert.deepEqual(found, []);
  });
});

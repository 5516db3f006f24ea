import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import type { Response } from 'supertest';
import { createUser, login, refresh, refreshCookieOf, TEST_PASSWORD, TestUser } from '../support/auth-helpers';
import { shiftClock } from '../support/clock';
import { TEST_JWT_SECRET } from '../support/credentials';
import { testEngines } from '../support/postgres';
import { anonymous, authed, capturingLogger, startTestApp, TestApp } from '../support/test-app';

const USER_KEYS = ['createdAt', 'id', 'role', 'updatedAt', 'username'];
const secretKey = new TextEncoder().encode(TEST_JWT_SECRET);

/** An access token signed with the test's JWT_SECRET, with the given claims changed. */
async function craftToken(
  user: { id: string; username: string },
  change: { iss?: string; aud?: string; exp?: number; iat?: number; alg?: string; key?: Uint8Array } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'admin', name: user.username, sid: randomUUID() })
    .setProtectedHeader({ alg: change.alg ?? 'HS256', typ: 'JWT' })
    .setSubject(user.id)
    .setIssuer(change.iss ?? 'modelforge')
    .setAudience(change.aud ?? 'modelforge-api')
    .setIssuedAt(change.iat ?? now)
    .setExpirationTime(change.exp ?? now + 600)
    .setJti(randomUUID())
    .sign(change.key ?? secretKey);
}

function assertUnauthenticated(res: Response, message: RegExp): void {
  assert.equal(res.status, 401, res.text);
  assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/);
  assert.equal(res.body.statusCode, 401);
  assert.match(res.body.message, message);
}

for (const engine of testEngines()) {
  describe(`users, login and access tokens on ${engine}`, () => {
    let t: TestApp;
    /** Every response body of these tests, to prove no password or hash ever appears in one. */
    const seen: string[] = [];
    const admin = () => authed(t);
    const as = (token: string) => authed(t, token);
    const record = (res: Response): Response => {
      seen.push(res.text ?? '', JSON.stringify(res.headers));
      return res;
    };

    before(async () => {
      // Throttling has its own suite (auth-login-throttle): here failures never lock anyone out.
      t = await startTestApp(engine, { env: { JWT_SECRET: TEST_JWT_SECRET, LOGIN_MAX_FAILURES: '1000' } });
    });
    after(async () => {
      await t?.close();
    });

    describe('users (admin)', () => {
      let alice: TestUser;

      it('creates a user: 201 with the User body only, never the password or its hash', async () => {
        const res = record(
          await admin().post('/api/v1/auth/users').send({ username: 'alice', password: TEST_PASSWORD, role: 'viewer' }),
        );
        assert.equal(res.status, 201, res.text);
        assert.deepEqual(Object.keys(res.body).sort(), USER_KEYS);
        assert.equal(res.body.username, 'alice');
        assert.equal(res.body.role, 'viewer');
        assert.match(res.body.id, /^[0-9a-f-]{36}$/);
        assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)));
        alice = res.body as TestUser;
        const [row] = await t.dataSource.query(`SELECT password_hash FROM users WHERE username = 'alice'`);
        assert.match(row.password_hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      });

      it('answers 409 for a duplicate username', async () => {
        const res = record(
          await admin().post('/api/v1/auth/users').send({ username: 'alice', password: TEST_PASSWORD, role: 'admin' }),
        );
        assert.equal(res.status, 409, res.text);
        assert.match(res.body.message, /alice.*already exists/);
      });

      const invalidBodies: [string, Record<string, unknown>, RegExp][] = [
        [
          'an uppercase username',
          { username: 'Alice', password: TEST_PASSWORD, role: 'viewer' },
          /username must match/,
        ],
        [
          'a username of 65 characters',
          { username: 'a'.repeat(65), password: TEST_PASSWORD, role: 'viewer' },
          /username/,
        ],
        ['a username with a slash', { username: 'a/b', password: TEST_PASSWORD, role: 'viewer' }, /username/],
        ['a numeric username', { username: 42, password: TEST_PASSWORD, role: 'viewer' }, /username must be a string/],
        [
          'a password of 11 characters',
          { username: 'bob', password: 'x'.repeat(11), role: 'viewer' },
          /password must be 12 to 256/,
        ],
        [
          'a password of 257 characters',
          { username: 'bob', password: 'x'.repeat(257), role: 'viewer' },
          /password must be 12 to 256/,
        ],
        [
          'a numeric password',
          { username: 'bob', password: 123456789012345, role: 'viewer' },
          /password must be a string/,
        ],
        ['an unknown role', { username: 'bob', password: TEST_PASSWORD, role: 'root' }, /role must be one of/],
        ['a missing role', { username: 'bob', password: TEST_PASSWORD }, /role must be one of/],
        [
          'an unknown field',
          { username: 'bob', password: TEST_PASSWORD, role: 'viewer', admin: true },
          /admin should not exist/,
        ],
      ];
      for (const [what, body, message] of invalidBodies) {
        it(`answers 400 for ${what}`, async () => {
          const res = record(await admin().post('/api/v1/auth/users').send(body));
          assert.equal(res.status, 400, res.text);
          assert.match(res.body.message, message);
        });
      }

      it('lists users as a page and reads one by username', async () => {
        await createUser(t, 'bob', 'maintainer');
        const list = record(await admin().get('/api/v1/auth/users').query({ limit: 1 }).expect(200));
        assert.deepEqual(Object.keys(list.body).sort(), ['items', 'limit', 'skip', 'total']);
        assert.equal(list.body.total, 2);
        assert.equal(list.body.items.length, 1);
        assert.deepEqual(Object.keys(list.body.items[0]).sort(), USER_KEYS);
        const all = record(await admin().get('/api/v1/auth/users').expect(200));
        assert.deepEqual(all.body.items.map((u: TestUser) => u.username).sort(), ['alice', 'bob']);
        const one = record(await admin().get('/api/v1/auth/users/alice').expect(200));
        assert.deepEqual(one.body, alice);
        record(await admin().get('/api/v1/auth/users').query({ limit: 101 }).expect(400));
      });

      it('answers 404 for an unknown username and 400 for one that cannot be a username', async () => {
        record(await admin().get('/api/v1/auth/users/nobody').expect(404));
        record(await admin().patch('/api/v1/auth/users/nobody').send({ role: 'viewer' }).expect(404));
        record(await admin().delete('/api/v1/auth/users/nobody').expect(404));
        const res = record(await admin().get('/api/v1/auth/users/No%20Body').expect(400));
        assert.match(res.body.message, /username must match/);
      });

      it('changes the role, and writes nothing for a PATCH that changes nothing', async () => {
        const res = record(await admin().patch('/api/v1/auth/users/bob').send({ role: 'predictor' }).expect(200));
        assert.deepEqual(Object.keys(res.body).sort(), USER_KEYS);
        assert.equal(res.body.role, 'predictor');
        const same = record(await admin().patch('/api/v1/auth/users/bob').send({ role: 'predictor' }).expect(200));
        assert.equal(same.body.updatedAt, res.body.updatedAt);
        record(await admin().patch('/api/v1/auth/users/bob').send({}).expect(200));
        const updates = await t.dataSource.query(
          `SELECT details FROM audit_events WHERE action = 'user.update' AND target = 'user:bob'`,
        );
        assert.equal(updates.length, 1, 'only the real change is audited');
        assert.deepEqual(JSON.parse(updates[0].details), {
          changed: ['role'],
          role: { from: 'maintainer', to: 'predictor' },
        });
      });

      it('refuses PATCH bodies of the wrong type or length (400)', async () => {
        for (const body of [
          { role: 'root' },
          { role: null },
          { password: 'short' },
          { password: 42 },
          { username: 'x' },
        ]) {
          const res = record(await admin().patch('/api/v1/auth/users/bob').send(body));
          assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
        }
      });

      it('changes the password: the new one logs in, the old one no longer does', async () => {
        const newPassword = 'an entirely new passphrase';
        record(await admin().patch('/api/v1/auth/users/bob').send({ password: newPassword }).expect(200));
        record(
          await anonymous(t).post('/api/v1/auth/login').send({ username: 'bob', password: TEST_PASSWORD }).expect(401),
        );
        await login(t, 'bob', newPassword);
        const [audit] = await t.dataSource.query(
          `SELECT details FROM audit_events WHERE action = 'user.update' AND target = 'user:bob' AND details LIKE '%password%'`,
        );
        assert.deepEqual(JSON.parse(audit.details), { changed: ['password'] });
      });

      it('deletes a user (204); the username is free again', async () => {
        record(await admin().delete('/api/v1/auth/users/bob').expect(204));
        record(await admin().get('/api/v1/auth/users/bob').expect(404));
        await createUser(t, 'bob', 'viewer');
      });

      it('records user.create, user.update and user.delete with the actor and request id, never a password', async () => {
        const rows: { action: string; actor: string; target: string; request_id: string; details: string }[] =
          await t.dataSource.query(
            `SELECT action, actor, target, request_id, details FROM audit_events WHERE action LIKE 'user.%'`,
          );
        const actions = rows.map((r) => `${r.action} ${r.target}`).sort();
        assert.deepEqual(actions, [
          'user.create user:alice',
          'user.create user:bob',
          'user.create user:bob',
          'user.delete user:bob',
          'user.update user:bob',
          'user.update user:bob',
        ]);
        for (const row of rows) {
          assert.equal(row.actor, 'admin-key');
          assert.ok(row.request_id);
          assert.ok(!(row.details ?? '').includes(TEST_PASSWORD) && !(row.details ?? '').includes('scrypt'));
        }
      });

      it('answers 403 to a maintainer access token on every users route', async () => {
        await createUser(t, 'maint', 'maintainer');
        const { accessToken } = await login(t, 'maint');
        const maintainer = () => as(accessToken);
        for (const res of [
          await maintainer().get('/api/v1/auth/users'),
          await maintainer().get('/api/v1/auth/users/alice'),
          await maintainer()
            .post('/api/v1/auth/users')
            .send({ username: 'eve', password: TEST_PASSWORD, role: 'admin' }),
          await maintainer().patch('/api/v1/auth/users/maint').send({ role: 'admin' }),
          await maintainer().delete('/api/v1/auth/users/alice'),
        ]) {
          record(res);
          assert.equal(res.status, 403, res.text);
          assert.match(res.body.message, /needs the role admin/);
        }
        const after = record(await admin().get('/api/v1/auth/users/maint').expect(200));
        assert.equal(after.body.role, 'maintainer', 'the maintainer could not promote itself');
        record(await admin().get('/api/v1/auth/users/alice').expect(200));
      });

      it('lets an admin user (JWT) manage users, audited as user:<id>', async () => {
        const root = await createUser(t, 'root', 'admin');
        const { accessToken } = await login(t, 'root');
        record(
          await as(accessToken)
            .post('/api/v1/auth/users')
            .send({ username: 'carol', password: TEST_PASSWORD, role: 'viewer' })
            .expect(201),
        );
        const [row] = await t.dataSource.query(
          `SELECT actor, actor_name FROM audit_events WHERE action = 'user.create' AND target = 'user:carol'`,
        );
        assert.deepEqual({ actor: row.actor, name: row.actor_name }, { actor: `user:${root.id}`, name: 'root' });
      });
    });

    describe('login and access tokens', () => {
      let viewer: TestUser;

      before(async () => {
        viewer = await createUser(t, 'vera', 'viewer');
      });

      it('logs in: 200 with {accessToken, expiresIn, tokenType} and no caching', async () => {
        const res = record(
          await anonymous(t).post('/api/v1/auth/login').send({ username: 'vera', password: TEST_PASSWORD }),
        );
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(Object.keys(res.body).sort(), ['accessToken', 'expiresIn', 'tokenType']);
        assert.equal(res.body.tokenType, 'Bearer');
        assert.equal(res.body.expiresIn, 900);
        assert.match(res.body.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
        assert.equal(res.headers['cache-control'], 'no-store');
        const claims = JSON.parse(Buffer.from(res.body.accessToken.split('.')[1], 'base64url').toString());
        assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'name', 'role', 'sid', 'sub']);
        assert.equal(claims.sub, viewer.id);
        assert.equal(claims.name, 'vera');
        assert.equal(claims.role, 'viewer');
        assert.equal(claims.iss, 'modelforge');
        assert.equal(claims.aud, 'modelforge-api');
        assert.equal(claims.exp - claims.iat, 900);
        const header = JSON.parse(Buffer.from(res.body.accessToken.split('.')[0], 'base64url').toString());
        assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
      });

      it('sets the refresh cookie HttpOnly, SameSite=Strict, Path=/api/v1/auth, Max-Age of the refresh TTL', async () => {
        const res = await anonymous(t)
          .post('/api/v1/auth/login')
          .send({ username: 'vera', password: TEST_PASSWORD })
          .expect(200);
        const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('mf_refresh='));
        assert.ok(cookie);
        const attributes = cookie
          .split(';')
          .slice(1)
          .map((a) => a.trim());
        assert.ok(attributes.includes('HttpOnly'), cookie);
        assert.ok(attributes.includes('SameSite=Strict'), cookie);
        assert.ok(attributes.includes('Path=/api/v1/auth'), cookie);
        assert.ok(attributes.includes(`Max-Age=${7 * 86_400}`), cookie);
        assert.ok(!attributes.includes('Secure'), 'not Secure outside production unless AUTH_COOKIE_SECURE');
        assert.match(refreshCookieOf(res) ?? '', /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
        const [row] = await t.dataSource.query('SELECT hash FROM refresh_tokens ORDER BY created_at DESC LIMIT 1');
        assert.match(row.hash, /^[0-9a-f]{64}$/, 'stored only as SHA-256');
        assert.ok(
          !JSON.stringify(await t.dataSource.query('SELECT * FROM refresh_tokens')).includes(refreshCookieOf(res)!),
        );
      });

      it('gives a token that works on a viewer route and gets 403 on a maintainer route', async () => {
        const { accessToken } = await login(t, 'vera');
        record(await as(accessToken).get('/api/v1/models').expect(200));
        const me = record(await as(accessToken).get('/api/v1/auth/me').expect(200));
        assert.deepEqual(me.body, { kind: 'user', id: viewer.id, name: 'vera', role: 'viewer', models: null });
        const res = record(await as(accessToken).post('/api/v1/models').send({ name: 'not-allowed' }));
        assert.equal(res.status, 403, res.text);
        assert.match(res.body.message, /credential has the role viewer/);
      });

      it('answers 401 with WWW-Authenticate: Bearer and one message for a wrong password and an unknown user', async () => {
        const wrong = record(
          await anonymous(t).post('/api/v1/auth/login').send({ username: 'vera', password: 'not the password' }),
        );
        assertUnauthenticated(wrong, /^Invalid username or password$/);
        assert.equal(refreshCookieOf(wrong), undefined);
        const unknown = record(
          await anonymous(t).post('/api/v1/auth/login').send({ username: 'nobody', password: 'not the password' }),
        );
        assertUnauthenticated(unknown, /^Invalid username or password$/);
        assert.equal(unknown.body.message, wrong.body.message);
      });

      for (const [what, body] of [
        ['no body', undefined],
        ['a numeric password', { username: 'vera', password: 12 }],
        ['an object as username', { username: { $ne: null }, password: TEST_PASSWORD }],
        ['an empty password', { username: 'vera', password: '' }],
        ['a password of 257 characters', { username: 'vera', password: 'x'.repeat(257) }],
        ['a username that cannot exist', { username: 'Vera', password: TEST_PASSWORD }],
        ['an unknown field', { username: 'vera', password: TEST_PASSWORD, role: 'admin' }],
      ] as const) {
        it(`answers 400 to a login with ${what}`, async () => {
          const request = anonymous(t).post('/api/v1/auth/login');
          const res = record(body === undefined ? await request : await request.send(body));
          assert.equal(res.status, 400, res.text);
        });
      }

      it('answers 415 to a login body that is not JSON', async () => {
        const res = await anonymous(t)
          .post('/api/v1/auth/login')
          .set('Content-Type', 'text/plain')
          .send('username=vera&password=x');
        assert.equal(res.status, 415, res.text);
      });

      it('answers 401 "expired" once the access token has expired', async (c) => {
        const { accessToken } = await login(t, 'vera');
        record(await as(accessToken).get('/api/v1/auth/me').expect(200));
        const clock = shiftClock(c);
        clock.advance(900 * 1000);
        assertUnauthenticated(await as(accessToken).get('/api/v1/auth/me'), /expired/);
      });

      it('answers 401 to a token crafted with an expiry in the past', async () => {
        const now = Math.floor(Date.now() / 1000);
        const token = await craftToken(viewer, { iat: now - 1000, exp: now - 100 });
        assertUnauthenticated(await as(token).get('/api/v1/auth/me'), /expired/);
        // The same claims, valid: the crafting itself is right.
        record(
          await as(await craftToken(viewer))
            .get('/api/v1/auth/me')
            .expect(200),
        );
      });

      it('answers 401 to tokens with a wrong issuer, audience, key or algorithm', async () => {
        const header = (alg: string) => Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
        const payload = Buffer.from(
          JSON.stringify({
            sub: viewer.id,
            name: 'vera',
            role: 'admin',
            sid: randomUUID(),
            iss: 'modelforge',
            aud: 'modelforge-api',
            iat: Math.floor(Date.now() / 1000),
            exp: Math.floor(Date.now() / 1000) + 600,
            jti: randomUUID(),
          }),
        ).toString('base64url');
        const cases: [string, string][] = [
          ['issuer', await craftToken(viewer, { iss: 'someone-else' })],
          ['audience', await craftToken(viewer, { aud: 'another-api' })],
          ['key', await craftToken(viewer, { key: new TextEncoder().encode('another-secret-0123456789abcdefghijkl') })],
          ['algorithm HS512', await craftToken(viewer, { alg: 'HS512' })],
          ['alg none (unsigned)', new UnsecuredJWT({ sub: viewer.id, role: 'admin' }).encode()],
          ['alg none with a signature', `${header('none')}.${payload}.c2lnbmF0dXJl`],
          ['a tampered payload', (await craftToken(viewer)).replace(/\.[^.]+\./, `.${payload}.`)],
        ];
        for (const [what, token] of cases) {
          const res = await as(token).get('/api/v1/auth/me');
          assert.equal(res.status, 401, `${what}: ${res.text}`);
          assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/, what);
        }
      });

      it('applies a role change to a token already issued, at once', async () => {
        await createUser(t, 'ray', 'viewer');
        const { accessToken } = await login(t, 'ray');
        record(await as(accessToken).post('/api/v1/models').send({ name: 'by-ray' }).expect(403));
        record(await admin().patch('/api/v1/auth/users/ray').send({ role: 'maintainer' }).expect(200));
        record(await as(accessToken).post('/api/v1/models').send({ name: 'by-ray' }).expect(201));
        assert.equal(record(await as(accessToken).get('/api/v1/auth/me').expect(200)).body.role, 'maintainer');
        record(await admin().patch('/api/v1/auth/users/ray').send({ role: 'viewer' }).expect(200));
        record(await as(accessToken).delete('/api/v1/models/by-ray').expect(403));
      });

      it("makes a deleted user's access token and refresh token fail at once", async () => {
        await createUser(t, 'dora', 'viewer');
        const session = await login(t, 'dora');
        record(await as(session.accessToken).get('/api/v1/models').expect(200));
        record(await admin().delete('/api/v1/auth/users/dora').expect(204));
        assertUnauthenticated(await as(session.accessToken).get('/api/v1/models'), /revoked/);
        assertUnauthenticated(await refresh(t, session.refreshToken), /not valid/);
      });

      it('ends every session of a user whose password changed', async () => {
        await createUser(t, 'pat', 'viewer');
        const session = await login(t, 'pat');
        record(await as(session.accessToken).get('/api/v1/models').expect(200));
        record(await admin().patch('/api/v1/auth/users/pat').send({ password: 'a brand new password' }).expect(200));
        assertUnauthenticated(await as(session.accessToken).get('/api/v1/models'), /revoked/);
        assertUnauthenticated(await refresh(t, session.refreshToken), /not valid/);
        const next = await login(t, 'pat', 'a brand new password');
        record(await as(next.accessToken).get('/api/v1/models').expect(200));
      });
    });

    describe('refresh and logout', () => {
      let rita: TestUser;

      before(async () => {
        rita = await createUser(t, 'rita', 'maintainer');
      });

      it('rotates: a refresh answers a new access token and sets a new refresh cookie of the same session', async () => {
        const first = await login(t, 'rita');
        const res = record(await refresh(t, first.refreshToken));
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(Object.keys(res.body).sort(), ['accessToken', 'expiresIn', 'tokenType']);
        assert.equal(res.headers['cache-control'], 'no-store');
        const second = refreshCookieOf(res);
        assert.ok(second && second !== first.refreshToken, 'a new refresh token');
        assert.notEqual(res.body.accessToken, first.accessToken);
        record(await as(res.body.accessToken).get('/api/v1/auth/me').expect(200));
        const third = record(await refresh(t, second));
        assert.equal(third.status, 200, third.text);
        const rows = (
          await t.dataSource.query<{ user_id: string; family_id: string; used_at: unknown }[]>(
            'SELECT user_id, family_id, used_at FROM refresh_tokens',
          )
        ).filter((r) => r.user_id === rita.id);
        assert.equal(rows.length, 3);
        assert.equal(new Set(rows.map((r) => r.family_id)).size, 1, 'one family');
        assert.equal(rows.filter((r) => r.used_at !== null).length, 2, 'two used');
      });

      it('revokes the whole session when a used refresh token comes back', async () => {
        const first = await login(t, 'rita');
        const rotated = record(await refresh(t, first.refreshToken));
        assert.equal(rotated.status, 200, rotated.text);
        const newest = refreshCookieOf(rotated)!;
        const reuse = record(await refresh(t, first.refreshToken));
        assertUnauthenticated(reuse, /already used.*revoked/);
        assertUnauthenticated(await refresh(t, newest), /not valid/);
        // The access tokens of that session end with it; another session is untouched.
        assertUnauthenticated(await as(rotated.body.accessToken).get('/api/v1/auth/me'), /revoked/);
        assertUnauthenticated(await as(first.accessToken).get('/api/v1/auth/me'), /revoked/);
        const other = await login(t, 'rita');
        record(await as(other.accessToken).get('/api/v1/auth/me').expect(200));
      });

      it('lets exactly one of two concurrent refreshes with the same token win, and then revokes the session', async () => {
        const session = await login(t, 'rita');
        const answers = await Promise.all([refresh(t, session.refreshToken), refresh(t, session.refreshToken)]);
        const statuses = answers.map((a) => a.status).sort();
        assert.deepEqual(statuses, [200, 401], answers.map((a) => a.text).join('\n'));
        const winner = answers.find((a) => a.status === 200)!;
        assertUnauthenticated(await refresh(t, refreshCookieOf(winner)!), /not valid/);
      });

      it('answers 401 without a cookie, with an unknown token and with an expired one', async (c) => {
        assertUnauthenticated(record(await anonymous(t).post('/api/v1/auth/refresh')), /No refresh token/);
        assertUnauthenticated(await refresh(t, 'A'.repeat(43)), /not valid/);
        assertUnauthenticated(
          await anonymous(t).post('/api/v1/auth/refresh').set('Cookie', 'other=1; mf_refresh=%E0%A4%A'),
          /not valid|No refresh token/,
        );
        const session = await login(t, 'rita');
        shiftClock(c).advance(7 * 86_400 * 1000);
        assertUnauthenticated(await refresh(t, session.refreshToken), /not valid/);
      });

      it('logs out: 204, the cookie is cleared, and the refresh and access tokens stop working', async () => {
        const session = await login(t, 'rita');
        const res = record(
          await anonymous(t).post('/api/v1/auth/logout').set('Cookie', `mf_refresh=${session.refreshToken}`),
        );
        assert.equal(res.status, 204, res.text);
        const cleared = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('mf_refresh='));
        assert.ok(cleared);
        assert.match(cleared, /^mf_refresh=;/);
        assert.match(cleared, /Path=\/api\/v1\/auth/);
        assert.match(cleared, /Expires=Thu, 01 Jan 1970/);
        assertUnauthenticated(await refresh(t, session.refreshToken), /not valid/);
        assertUnauthenticated(await as(session.accessToken).get('/api/v1/auth/me'), /revoked/);
      });

      it('answers 204 to a logout without a cookie, with an unknown one, and twice', async () => {
        record(await anonymous(t).post('/api/v1/auth/logout').expect(204));
        record(await anonymous(t).post('/api/v1/auth/logout').set('Cookie', 'mf_refresh=unknown').expect(204));
        const session = await login(t, 'rita');
        for (let i = 0; i < 2; i += 1) {
          record(
            await anonymous(t)
              .post('/api/v1/auth/logout')
              .set('Cookie', `mf_refresh=${session.refreshToken}`)
              .expect(204),
          );
        }
      });
    });

    it('reads JSON bodies on POST /api/v1/auth/keys (its body reader is mounted)', async () => {
      const res = await admin().post('/api/v1/auth/keys').send({ name: 'from-a-body', role: 'viewer' });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.name, 'from-a-body');
      const refused = await anonymous(t).post('/api/v1/auth/keys').send({ name: 'anonymous', role: 'admin' });
      assert.equal(refused.status, 401, refused.text);
    });

    it('never shows a password or a password hash in any response', () => {
      assert.ok(seen.length > 50, 'responses were collected');
      const all = seen.join('\n');
      for (const secret of [
        TEST_PASSWORD,
        'an entirely new passphrase',
        'a brand new password',
        'scrypt$',
        'passwordHash',
        'password_hash',
      ]) {
        assert.ok(!all.includes(secret), `a response contains ${secret}`);
      }
    });
  });
}

describe('logs of users, login, refresh and logout', () => {
  it('never contain a password, a password hash, an access token or a refresh token', async () => {
    const { logger, lines } = capturingLogger('trace');
    const t = await startTestApp('sqlite', { logger, env: { JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'trace' } });
    try {
      await createUser(t, 'logan', 'viewer');
      await anonymous(t)
        .post('/api/v1/auth/login')
        .send({ username: 'logan', password: 'wrong password here' })
        .expect(401);
      const session = await login(t, 'logan');
      const rotated = await refresh(t, session.refreshToken).expect(200);
      await authed(t, rotated.body.accessToken).get('/api/v1/auth/me').expect(200);
      await authed(t).patch('/api/v1/auth/users/logan').send({ password: 'the second password' }).expect(200);
      await anonymous(t)
        .post('/api/v1/auth/logout')
        .set('Cookie', `mf_refresh=${refreshCookieOf(rotated)}`)
        .expect(204);
      const [row] = await t.dataSource.query(`SELECT password_hash FROM users WHERE username = 'logan'`);
      const text = JSON.stringify(lines);
      assert.match(text, /Login failed/, 'the log was captured');
      for (const secret of [
        TEST_PASSWORD,
        'wrong password here',
        'the second password',
        row.password_hash,
        session.accessToken,
        session.refreshToken,
        rotated.body.accessToken,
        refreshCookieOf(rotated)!,
        TEST_JWT_SECRET,
      ]) {
        assert.ok(!text.includes(secret), `the log contains a secret (${secret.slice(0, 6)}…)`);
      }
    } finally {
      await t.close();
    }
  });
});

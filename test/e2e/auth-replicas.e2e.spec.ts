import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, login, refresh, refreshCookieOf } from '../support/auth-helpers';
import { TEST_JWT_SECRET } from '../support/credentials';
import { redisPrefix } from '../support/job-helpers';
import { testEngines } from '../support/postgres';
import { dropRedisKeys, redisTestUrl } from '../support/redis-server';
import { anonymous, authed, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * Two replicas (A and B) sharing one database, one JWT_SECRET and one Redis: a change made on A
 * (user deleted, role changed, logout) reaches the role and session caches of B through AuthEvents
 * on Redis pub/sub, without waiting for B's cache to expire (60 s, far beyond these waits' needs).
 */
for (const engine of testEngines()) {
  describe(`users and sessions across two replicas sharing Redis on ${engine}`, () => {
    const prefix = redisPrefix('auth-replicas');
    let a: TestApp;
    let b: TestApp;

    before(async () => {
      const env = { REDIS_URL: redisTestUrl(), JOBS_QUEUE_PREFIX: prefix, JWT_SECRET: TEST_JWT_SECRET };
      a = await startTestApp(engine, { env });
      // B opens A's database: the PostgreSQL database, or the SQLite file in A's DATA_DIR.
      const shared: Record<string, string> = a.config.database.url
        ? { DATABASE_URL: a.config.database.url }
        : { DATA_DIR: a.dataDir };
      b = await startTestApp('sqlite', { env: { ...env, ...shared } });
    });
    after(async () => {
      await b?.close();
      await a?.close();
      await dropRedisKeys(prefix);
    });

    /** GET /api/v1/auth/me on B with the token: its status and the role B sees. */
    const meOnB = async (token: string) => {
      const res = await authed(b, token).get('/api/v1/auth/me');
      return { status: res.status, role: res.body.role as string | undefined };
    };

    it('deleting a user on A makes its access token fail on B at once', async () => {
      await createUser(a, 'uma', 'viewer');
      const { accessToken } = await login(a, 'uma');
      // B has verified the token and cached the user's role.
      assert.deepEqual(await meOnB(accessToken), { status: 200, role: 'viewer' });
      assert.deepEqual(await meOnB(accessToken), { status: 200, role: 'viewer' });
      await authed(a).delete('/api/v1/auth/users/uma').expect(204);
      await waitFor(async () => (await meOnB(accessToken)).status === 401, {
        what: "B to refuse the deleted user's token",
        timeoutMs: 10_000,
      });
    });

    it('a role change on A applies on B to the token already issued', async () => {
      await createUser(a, 'rob', 'viewer');
      const { accessToken } = await login(a, 'rob');
      assert.deepEqual(await meOnB(accessToken), { status: 200, role: 'viewer' });
      await authed(a).patch('/api/v1/auth/users/rob').send({ role: 'maintainer' }).expect(200);
      await waitFor(async () => (await meOnB(accessToken)).role === 'maintainer', {
        what: 'B to see the new role',
        timeoutMs: 10_000,
      });
      await authed(b, accessToken).post('/api/v1/models').send({ name: 'by-rob' }).expect(201);
    });

    it('a session started on A refreshes on B, and a logout on A ends its access token on B', async () => {
      await createUser(a, 'lou', 'viewer');
      const session = await login(a, 'lou');
      const rotated = await refresh(b, session.refreshToken);
      assert.equal(rotated.status, 200, rotated.text);
      const accessToken = rotated.body.accessToken as string;
      assert.deepEqual(await meOnB(accessToken), { status: 200, role: 'viewer' });
      await anonymous(a)
        .post('/api/v1/auth/logout')
        .set('Cookie', `mf_refresh=${refreshCookieOf(rotated)}`)
        .expect(204);
      await waitFor(async () => (await meOnB(accessToken)).status === 401, {
        what: 'B to refuse the access token of the ended session',
        timeoutMs: 10_000,
      });
    });
  });
}

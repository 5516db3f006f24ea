/**
 * Two replicas of the service on one PostgreSQL database and one Redis: a key revoked on one
 * stops working on the other, although the other had it in its lookup cache (trusted for 60 s
 * without an event). PostgreSQL only: replicas share a database server, not an embedded file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { credentialFailureMessage } from '../../src/auth/principal';
import { createKey, revokeKey, whoAmI } from '../support/auth-helpers';
import { REDIS_TEST_URL, redisPrefix } from '../support/job-helpers';
import { testEngines } from '../support/postgres';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/** Far below the 60 s the cache trusts a key: only the revocation event can make it in time. */
const PROPAGATION_TIMEOUT_MS = 15_000;

for (const engine of testEngines().filter((e) => e === 'postgres')) {
  describe(`revocation across two replicas sharing Redis (${engine})`, () => {
    const prefix = redisPrefix('replicas');
    const env = { REDIS_URL: REDIS_TEST_URL, JOBS_QUEUE_PREFIX: prefix };
    let a: TestApp;
    let b: TestApp;
    let redis: Redis;

    before(async () => {
      a = await startTestApp(engine, { listen: true, env });
      b = await startTestApp(engine, { listen: true, env, databaseUrl: a.databaseUrl });
      redis = new Redis(REDIS_TEST_URL);
      // Both replicas listen to the auth events channel before anything is revoked.
      await waitFor(
        async () => {
          const [, count] = (await redis.pubsub('NUMSUB', `${prefix}:auth-events`)) as [string, number];
          return Number(count) >= 2;
        },
        { what: 'both replicas to subscribe to the auth events' },
      );
    });
    after(async () => {
      await b?.close();
      await a?.close();
      if (redis) {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    });

    it('refuses on replica B a key revoked on replica A, although B had it cached', async () => {
      const key = await createKey(a.baseUrl as string, a.adminKey, { name: 'replicated', role: 'viewer' });
      // B looks the key up once and caches it; A does too.
      assert.equal((await whoAmI(b.baseUrl as string, key.key)).status, 200);
      assert.equal((await whoAmI(a.baseUrl as string, key.key)).status, 200);

      await revokeKey(a.baseUrl as string, a.adminKey, key.id);
      assert.equal((await whoAmI(a.baseUrl as string, key.key)).status, 401, 'refused at once where revoked');
      const refused = await waitFor(
        async () => {
          const answer = await whoAmI(b.baseUrl as string, key.key);
          return answer.status === 401 ? answer : undefined;
        },
        { what: 'replica B to refuse the revoked key', timeoutMs: PROPAGATION_TIMEOUT_MS },
      );
      assert.equal((refused.body as { message: string }).message, credentialFailureMessage('revoked'));
    });

    it('accepts on B a key created on A; a revocation on B reaches A; other keys keep working', async () => {
      const other = await createKey(a.baseUrl as string, a.adminKey, { name: 'untouched', role: 'maintainer' });
      const created = await createKey(a.baseUrl as string, a.adminKey, { name: 'fresh', role: 'predictor' });
      const onB = await whoAmI(b.baseUrl as string, created.key);
      assert.equal(onB.status, 200);
      assert.equal((onB.body as { role: string }).role, 'predictor');
      assert.equal((await whoAmI(a.baseUrl as string, created.key)).status, 200); // cached on A too
      await revokeKey(b.baseUrl as string, b.adminKey, created.id);
      await waitFor(async () => (await whoAmI(a.baseUrl as string, created.key)).status === 401, {
        what: 'replica A to refuse a key revoked on B',
        timeoutMs: PROPAGATION_TIMEOUT_MS,
      });
      assert.equal((await whoAmI(b.baseUrl as string, other.key)).status, 200);
      assert.equal((await whoAmI(a.baseUrl as string, other.key)).status, 200);
    });
  });
}

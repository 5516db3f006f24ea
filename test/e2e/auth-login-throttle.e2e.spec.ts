import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { createUser, postFrom, RawAnswer, refreshCookieOf, TEST_PASSWORD } from '../support/auth-helpers';
import { shiftClock } from '../support/clock';
import { redisPrefix } from '../support/job-helpers';
import { testEngines } from '../support/postgres';
import { redisTestUrl } from '../support/redis-server';
import { anonymous, startTestApp, TestApp } from '../support/test-app';

/**
 * Failed-login throttling with LOGIN_MAX_FAILURES=3 over a 600 s window, counted in memory and in
 * Redis. Each request comes from a loopback address of its own choosing (127.0.0.x), so a test
 * decides which address a failure counts against.
 */
const MAX_FAILURES = 3;
const WINDOW_SECONDS = 600;
const WRONG = 'not the right password';

interface StoreCase {
  store: 'memory' | 'redis';
  env: () => Record<string, string>;
}

const STORES: StoreCase[] = [
  { store: 'memory', env: () => ({}) },
  { store: 'redis', env: () => ({ REDIS_URL: redisTestUrl(), JOBS_QUEUE_PREFIX: redisPrefix('login') }) },
];

function assertLocked(answer: RawAnswer): void {
  assert.equal(answer.status, 429, JSON.stringify(answer.body));
  assert.match(String(answer.body.message), /Too many failed logins/);
  const retryAfter = Number(answer.headers['retry-after']);
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS,
    `Retry-After ${retryAfter}`,
  );
}

for (const engine of testEngines()) {
  for (const { store, env } of STORES) {
    describe(`login throttling in ${store} on ${engine}`, () => {
      let t: TestApp;
      let appEnv: Record<string, string>;
      let base: string;
      /** A fresh loopback address per call: failures counted against it are this test's only. */
      let lastOctet = 1;
      const address = () => `127.0.0.${++lastOctet}`;
      const loginFrom = (from: string, username: string, password: string) =>
        postFrom(base, from, '/api/v1/auth/login', { username, password });

      before(async () => {
        appEnv = {
          ...env(),
          LOGIN_MAX_FAILURES: String(MAX_FAILURES),
          LOGIN_LOCKOUT_SECONDS: String(WINDOW_SECONDS),
          AUTH_COOKIE_SECURE: 'true',
        };
        t = await startTestApp(engine, { listen: true, env: appEnv });
        base = t.baseUrl as string;
        for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) await createUser(t, name, 'viewer');
      });
      after(async () => {
        await t?.close();
        if (store === 'redis') {
          const redis = new Redis(redisTestUrl());
          const keys = await redis.keys(`${appEnv.JOBS_QUEUE_PREFIX}:*`);
          if (keys.length > 0) await redis.del(...keys);
          redis.disconnect();
        }
      });

      it('locks a username after LOGIN_MAX_FAILURES failures from any addresses, before checking the password', async () => {
        for (let i = 0; i < MAX_FAILURES; i += 1) {
          assert.equal((await loginFrom(address(), 'alice', WRONG)).status, 401);
        }
        const from = address();
        assertLocked(await loginFrom(from, 'alice', TEST_PASSWORD));
        assertLocked(await loginFrom(address(), 'alice', WRONG));
        // The address of that attempt is not locked: another user logs in from it.
        const bob = await loginFrom(from, 'bob', TEST_PASSWORD);
        assert.equal(bob.status, 200, JSON.stringify(bob.body));
        const cookie = (bob.headers['set-cookie'] ?? []).find((c) => c.startsWith('mf_refresh='));
        assert.match(cookie ?? '', /; Secure/, 'AUTH_COOKIE_SECURE=true sets Secure');
        assert.ok(refreshCookieOf(bob));
      });

      it('locks an address after LOGIN_MAX_FAILURES failures for any usernames, known or not', async () => {
        const from = address();
        for (const username of ['carol', 'nobody', 'someone-else']) {
          assert.equal((await loginFrom(from, username, WRONG)).status, 401);
        }
        assertLocked(await loginFrom(from, 'carol', TEST_PASSWORD));
        assertLocked(await loginFrom(from, 'dave', TEST_PASSWORD));
        // Carol herself is not locked (one failure): from elsewhere she logs in.
        assert.equal((await loginFrom(address(), 'carol', TEST_PASSWORD)).status, 200);
      });

      it("clears the username's count on a successful login", async () => {
        for (let round = 0; round < 2; round += 1) {
          for (let i = 0; i < MAX_FAILURES - 1; i += 1) {
            assert.equal((await loginFrom(address(), 'dave', WRONG)).status, 401);
          }
          assert.equal((await loginFrom(address(), 'dave', TEST_PASSWORD)).status, 200, `round ${round}`);
        }
      });

      if (store === 'memory') {
        it('admits attempts again once the window has passed', async (c) => {
          const from = address();
          for (let i = 0; i < MAX_FAILURES; i += 1) await loginFrom(from, 'erin', WRONG);
          assertLocked(await loginFrom(address(), 'erin', TEST_PASSWORD));
          shiftClock(c).advance(WINDOW_SECONDS * 1000);
          assert.equal((await loginFrom(from, 'erin', TEST_PASSWORD)).status, 200);
        });
      } else {
        it('counts in Redis under <JOBS_QUEUE_PREFIX>:login:, expiring with the window, shared by replicas', async () => {
          const prefix = appEnv.JOBS_QUEUE_PREFIX;
          const from = address();
          for (let i = 0; i < MAX_FAILURES; i += 1) await loginFrom(from, 'erin', WRONG);
          const redis = new Redis(redisTestUrl());
          let other: TestApp | undefined;
          try {
            assert.equal(await redis.get(`${prefix}:login:user:erin`), String(MAX_FAILURES));
            assert.equal(await redis.get(`${prefix}:login:addr:${from}`), String(MAX_FAILURES));
            const ttl = await redis.ttl(`${prefix}:login:user:erin`);
            assert.ok(ttl > 0 && ttl <= WINDOW_SECONDS, `TTL ${ttl}`);
            // A second replica (its own database: the lock is checked before any user is looked up).
            other = await startTestApp('sqlite', { listen: true, env: appEnv });
            assertLocked(
              await postFrom(other.baseUrl as string, address(), '/api/v1/auth/login', {
                username: 'erin',
                password: TEST_PASSWORD,
              }),
            );
          } finally {
            await other?.close();
            redis.disconnect();
          }
        });
      }
    });
  }
}

describe('login throttling behind a proxy (TRUST_PROXY)', () => {
  const wrongFrom = (t: TestApp, forwardedFor: string, username: string) =>
    anonymous(t).post('/api/v1/auth/login').set('X-Forwarded-For', forwardedFor).send({ username, password: WRONG });

  it('counts per X-Forwarded-For client when the proxy is trusted', async () => {
    const t = await startTestApp('sqlite', {
      env: { TRUST_PROXY: 'loopback', LOGIN_MAX_FAILURES: String(MAX_FAILURES) },
    });
    try {
      await createUser(t, 'alice', 'viewer');
      for (const username of ['u1', 'u2', 'u3']) await wrongFrom(t, '203.0.113.1', username).expect(401);
      const locked = await anonymous(t)
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', '203.0.113.1')
        .send({ username: 'alice', password: TEST_PASSWORD });
      assert.equal(locked.status, 429, locked.text);
      await anonymous(t)
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', '203.0.113.2')
        .send({ username: 'alice', password: TEST_PASSWORD })
        .expect(200);
    } finally {
      await t.close();
    }
  });

  it('ignores X-Forwarded-For by default: a client cannot escape the lock by forging it', async () => {
    const t = await startTestApp('sqlite', { env: { LOGIN_MAX_FAILURES: String(MAX_FAILURES) } });
    try {
      await createUser(t, 'alice', 'viewer');
      for (const [i, username] of ['u1', 'u2', 'u3'].entries())
        await wrongFrom(t, `203.0.113.${i}`, username).expect(401);
      const locked = await anonymous(t)
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', '203.0.113.9')
        .send({ username: 'alice', password: TEST_PASSWORD });
      assert.equal(locked.status, 429, locked.text);
    } finally {
      await t.close();
    }
  });
});

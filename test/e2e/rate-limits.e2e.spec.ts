import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { shiftClock } from '../support/clock';
import { testEngines } from '../support/postgres';
import { assertRateLimited, createKey, rateLimitOf } from '../support/rate-limit-helpers';
import { redisTestUrl } from '../support/redis-server';
import { freePort } from '../support/service-process';
import { authed, capturingLogger, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * Issue 9, rate limits: one token bucket per credential (burst = the per-minute limit, refilled
 * at limit/60 per second), in memory or in Redis shared by replicas. Refill is tested by moving
 * the clock (shiftClock), never by sleeping.
 */

const ROUTE = '/api/v1/models';
/** Small role defaults, so a test can exhaust them; admin keeps its default (unlimited). */
const SMALL_DEFAULTS = {
  RATE_LIMIT_VIEWER_PER_MINUTE: '2',
  RATE_LIMIT_MAINTAINER_PER_MINUTE: '2',
  RATE_LIMIT_PREDICTOR_PER_MINUTE: '2',
};

const METRICS_TOKEN = 'metrics-token-0123456789abcdefghijklmnopqrstuvwxyz';
const uniquePrefix = () => `mf-ratelimit-e2e-${randomBytes(4).toString('hex')}`;

for (const engine of testEngines()) {
  describe(`rate limits in memory on ${engine}`, () => {
    let t: TestApp;

    before(async () => {
      t = await startTestApp(engine, { env: SMALL_DEFAULTS });
    });
    after(async () => {
      await t?.close();
    });

    it('lets a key with rateLimitPerMinute 3 make 3 requests (Remaining 2, 1, 0), then answers 429', async () => {
      const key = await createKey(t, { role: 'predictor', rateLimitPerMinute: 3 });
      const seen = [];
      for (let i = 0; i < 3; i++) {
        const res = await authed(t, key).get(ROUTE).expect(200);
        seen.push(rateLimitOf(res));
        assert.equal(res.headers['retry-after'], undefined, 'no Retry-After on a success');
      }
      assert.deepEqual(
        seen.map((f) => [f.limit, f.remaining]),
        [
          [3, 2],
          [3, 1],
          [3, 0],
        ],
      );
      assert.deepEqual(
        seen.map((f) => f.reset),
        [20, 40, 20],
        'seconds until full (20 s per token at 3/min); when empty, until the next token',
      );
      assertRateLimited(await authed(t, key).get(ROUTE), 3);
    });

    it('refills the bucket as time passes (the clock is moved, nothing sleeps)', async (ctx) => {
      const clock = shiftClock(ctx);
      const key = await createKey(t, { role: 'predictor', rateLimitPerMinute: 3 });
      for (let i = 0; i < 3; i++) await authed(t, key).get(ROUTE).expect(200);
      const refused = await authed(t, key).get(ROUTE);
      assertRateLimited(refused, 3);
      assert.ok(rateLimitOf(refused).retryAfter! <= 20);
      clock.advance(20_000);
      const refilled = await authed(t, key).get(ROUTE).expect(200);
      assert.equal(rateLimitOf(refilled).remaining, 0, 'one token came back and was spent');
      assertRateLimited(await authed(t, key).get(ROUTE), 3);
      clock.advance(60_000);
      const full = await authed(t, key).get(ROUTE).expect(200);
      assert.equal(rateLimitOf(full).remaining, 2, 'a minute refills the whole burst, and no more');
    });

    it("applies the role's default (RATE_LIMIT_VIEWER_PER_MINUTE=2) to a key without its own limit", async () => {
      const key = await createKey(t, { role: 'viewer' });
      const first = await authed(t, key).get(ROUTE).expect(200);
      assert.deepEqual([rateLimitOf(first).limit, rateLimitOf(first).remaining], [2, 1]);
      await authed(t, key).get(ROUTE).expect(200);
      assertRateLimited(await authed(t, key).get(ROUTE), 2);
    });

    it("lets a key's own limit override its role's default", async () => {
      const key = await createKey(t, { role: 'viewer', rateLimitPerMinute: 5 });
      for (let i = 0; i < 5; i++) {
        const res = await authed(t, key).get(ROUTE).expect(200);
        assert.equal(rateLimitOf(res).limit, 5);
      }
      assertRateLimited(await authed(t, key).get(ROUTE), 5);
    });

    it('keeps one bucket per credential', async () => {
      const [a, b] = [await createKey(t, { role: 'viewer' }), await createKey(t, { role: 'viewer' })];
      await authed(t, a).get(ROUTE).expect(200);
      await authed(t, a).get(ROUTE).expect(200);
      assertRateLimited(await authed(t, a).get(ROUTE), 2);
      const other = await authed(t, b).get(ROUTE).expect(200);
      assert.equal(rateLimitOf(other).remaining, 1);
    });

    it('never limits ADMIN_API_KEY by default, and sends it no RateLimit fields', async () => {
      for (let i = 0; i < 25; i++) {
        const res = await authed(t).get(ROUTE).expect(200);
        assert.equal(res.headers['ratelimit-limit'], undefined);
      }
    });

    it('never limits an admin key without its own limit; one with a limit is held to it', async () => {
      const unlimited = await createKey(t, { role: 'admin' });
      for (let i = 0; i < 25; i++) await authed(t, unlimited).get(ROUTE).expect(200);
      const limited = await createKey(t, { role: 'admin', rateLimitPerMinute: 2 });
      await authed(t, limited).get(ROUTE).expect(200);
      await authed(t, limited).get(ROUTE).expect(200);
      assertRateLimited(await authed(t, limited).get(ROUTE), 2);
    });

    it('refuses an exhausted credential before the route runs (429 for a prediction, not 404)', async () => {
      const key = await createKey(t, { role: 'predictor', rateLimitPerMinute: 1 });
      await authed(t, key).get(ROUTE).expect(200);
      const res = await authed(t, key)
        .post('/api/v1/predictions')
        .send({ model: 'no-such-model', inputs: { x: 1 } });
      assertRateLimited(res, 1);
    });

    it('counts refusals per role in /metrics', async () => {
      const metrics = await authed(t).get('/metrics').expect(200);
      assert.match(metrics.text, /^modelforge_rate_limited_requests_total\{role="predictor"\} [1-9]\d*$/m);
      assert.match(metrics.text, /^modelforge_rate_limited_requests_total\{role="viewer"\} [1-9]\d*$/m);
    });

    it('does not spend a token on a request the role check refuses (403), on a route without a body', async () => {
      // (A route that takes a body spends the token before its body is read, so before the role check.)
      const key = await createKey(t, { role: 'viewer' });
      await authed(t, key).get('/api/v1/auth/keys').expect(403);
      const res = await authed(t, key).get(ROUTE).expect(200);
      assert.equal(rateLimitOf(res).remaining, 1);
    });
  });

  describe(`rate limits in Redis shared by two replicas on ${engine}`, () => {
    let a: TestApp;
    let b: TestApp;

    before(async () => {
      const env = { REDIS_URL: redisTestUrl(), JOBS_QUEUE_PREFIX: uniquePrefix(), ...SMALL_DEFAULTS };
      a = await startTestApp(engine, { env });
      // The second replica uses the first one's database (and so its keys) and the same Redis.
      const shared: Record<string, string> =
        engine === 'postgres' ? { DATABASE_URL: a.config.database.url! } : { DATA_DIR: a.config.storage.dataDir };
      b = await startTestApp('sqlite', { env: { ...env, ...shared } });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('spends one bucket for a key, whichever replica answers', async () => {
      const key = await createKey(a, { role: 'predictor', rateLimitPerMinute: 3 });
      const remaining = [];
      for (const app of [a, b, a]) remaining.push(rateLimitOf(await authed(app, key).get(ROUTE).expect(200)).remaining);
      assert.deepEqual(remaining, [2, 1, 0]);
      assertRateLimited(await authed(b, key).get(ROUTE), 3);
      assertRateLimited(await authed(a, key).get(ROUTE), 3);
    });

    it('refills the shared bucket by the clock the replicas pass to Redis', async (ctx) => {
      const clock = shiftClock(ctx);
      const key = await createKey(a, { role: 'viewer' });
      await authed(a, key).get(ROUTE).expect(200);
      await authed(b, key).get(ROUTE).expect(200);
      assertRateLimited(await authed(a, key).get(ROUTE), 2);
      clock.advance(30_000);
      const refilled = await authed(b, key).get(ROUTE).expect(200);
      assert.equal(rateLimitOf(refilled).remaining, 0);
      assertRateLimited(await authed(a, key).get(ROUTE), 2);
    });

    it('never limits ADMIN_API_KEY by default', async () => {
      for (let i = 0; i < 10; i++) {
        for (const app of [a, b])
          assert.equal((await authed(app).get(ROUTE).expect(200)).headers['ratelimit-limit'], undefined);
      }
    });
  });

  describe(`rate limits before a body is read on ${engine}`, () => {
    let t: TestApp;

    before(async () => {
      t = await startTestApp(engine, { env: SMALL_DEFAULTS, listen: true });
    });
    after(async () => {
      await t?.close();
    });

    it('answers 429 to a spent credential before reading its prediction body, and takes one token per request', async () => {
      const key = await createKey(t, { role: 'predictor', rateLimitPerMinute: 2 });
      // A body route takes its token before the body (requireCredential), and the guard takes none.
      const first = await authed(t, key).post('/api/v1/predictions').send({ model: 'nosuch', inputs: {} });
      assert.equal(first.status, 404, first.text);
      assert.equal(rateLimitOf(first).remaining, 1);
      await authed(t, key).get(ROUTE).expect(200);
      // 8 MiB announced, a few bytes sent: the answer must not wait for the rest.
      const socket = net.connect(Number(new URL(t.baseUrl as string).port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('error', () => undefined);
      socket.write(
        `POST /api/v1/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${8 * 1024 * 1024}\r\n\r\n{"model":`,
      );
      await waitFor(() => answer.includes('\r\n\r\n'), { what: 'an answer before the body was sent' });
      socket.destroy();
      assert.match(answer, /^HTTP\/1\.1 429/);
      assert.match(answer, /retry-after: \d+/i);
    });
  });

  describe(`rate limits with an unreachable Redis on ${engine}`, () => {
    let t: TestApp;
    const { logger, lines } = capturingLogger('warn');

    before(async () => {
      const deadRedis = `redis://127.0.0.1:${await freePort()}`;
      t = await startTestApp(engine, {
        // ADMIN_API_KEY with a limit on the admin role: creating a key needs Redis (auth events).
        env: {
          REDIS_URL: deadRedis,
          JOBS_QUEUE_PREFIX: uniquePrefix(),
          SHUTDOWN_GRACE_MS: '1000',
          RATE_LIMIT_ADMIN_PER_MINUTE: '2',
          METRICS_TOKEN,
        },
        logger,
      });
    });
    after(async () => {
      await t?.close();
    });

    it('keeps limiting on this replica alone: no 500, and one warning, not one per request', async () => {
      await authed(t).get(ROUTE).expect(200);
      await authed(t).get(ROUTE).expect(200);
      for (let i = 0; i < 10; i++) assertRateLimited(await authed(t).get(ROUTE), 2);
      const warnings = lines.filter((l) => String(l.msg).startsWith('rate-limit store (Redis) unavailable'));
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.ok(!lines.some((l) => l.status === 500), 'no request failed');
      const metrics = await authed(t, METRICS_TOKEN).get('/metrics').expect(200);
      assert.match(metrics.text, /^modelforge_rate_limit_local_decisions_total 12$/m);
    });

    it('still creates and revokes keys: the change applies here and is not failed for want of Redis', async (ctx) => {
      const clock = shiftClock(ctx);
      clock.advance(60_000); // the admin bucket (2 per minute) is full again
      const key = await authed(t).post('/api/v1/auth/keys').send({ name: 'offline', role: 'viewer' });
      assert.equal(key.status, 201, key.text);
      const revoked = await authed(t).delete(`/api/v1/auth/keys/${key.body.id}`);
      assert.equal(revoked.status, 204, revoked.text);
      assert.equal((await authed(t, key.body.key as string).get(ROUTE)).status, 401);
    });
  });
}

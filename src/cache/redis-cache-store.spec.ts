import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { manualClock } from '../../test/support/clock';
import { startPrivateRedis, PrivateRedis } from '../../test/support/redis-server';
import { freePort } from '../../test/support/service-process';
import { BREAKER_COOLDOWN_MS, BREAKER_THRESHOLD, RedisCacheStore } from './redis-cache-store';

/**
 * Long enough for a running Redis on a loaded machine to answer; it is also how long a lookup
 * waits on a paused one, so the failing lookups of a step run side by side.
 */
const TIMEOUT_MS = 1_000;
const MINUTE = 60_000;

/**
 * The breaker of the Redis store against a real redis-server of its own. The fault is the server
 * paused with SIGSTOP (connected, never answering: each lookup times out) and then resumed, so the
 * test knows exactly when Redis would answer again and the client never has to reconnect.
 */
describe('RedisCacheStore circuit breaker', () => {
  let redis: PrivateRedis;
  const stores: RedisCacheStore[] = [];

  before(async () => {
    redis = await startPrivateRedis();
    // The outage warning and recovery lines are expected here.
    Logger.overrideLogger(['error']);
  });
  after(async () => {
    for (const store of stores) await store.close();
    if (redis.running) redis.resume();
    await redis.kill();
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
  });

  async function connectedStore(clock = manualClock()) {
    const store = new RedisCacheStore(redis.url, TIMEOUT_MS, clock.now);
    stores.push(store);
    await store.onModuleInit();
    const key = `k-${randomUUID()}`;
    await store.set(key, 'v', MINUTE);
    assert.equal(await store.get(key), 'v', 'the store works before the fault');
    assert.equal(store.errors, 0);
    return { store, clock, key };
  }

  /** `n` lookups side by side against the paused server: all time out together. */
  async function failingLookups(store: RedisCacheStore, key: string, n: number): Promise<void> {
    const answers = await Promise.all(Array.from({ length: n }, () => store.get(key)));
    assert.deepEqual(answers, Array(n).fill(undefined), 'a failed lookup is a miss');
  }

  it('opens only after BREAKER_THRESHOLD failures in a row', async () => {
    const { store, key } = await connectedStore();
    redis.pause();
    await failingLookups(store, key, BREAKER_THRESHOLD - 1);
    redis.resume();
    assert.equal(store.errors, BREAKER_THRESHOLD - 1);
    assert.equal(store.healthy, true, 'a slow answer or two is not an outage');
    assert.equal(await store.get(key), 'v', 'still closed: Redis is asked');
    // The success reset the count: it takes BREAKER_THRESHOLD new failures in a row.
    redis.pause();
    await failingLookups(store, key, BREAKER_THRESHOLD - 1);
    redis.resume();
    assert.equal(store.healthy, true);
    assert.equal(await store.get(key), 'v');
    redis.pause();
    await failingLookups(store, key, BREAKER_THRESHOLD);
    redis.resume();
    assert.equal(store.healthy, false, 'open: the store reports itself degraded');
    assert.equal(store.errors, 3 * BREAKER_THRESHOLD - 2);
  });

  it('fails fast while open, half-opens after the cooldown, and closes on success', async () => {
    const { store, clock, key } = await connectedStore();
    redis.pause();
    await failingLookups(store, key, BREAKER_THRESHOLD);
    redis.resume();
    const errors = store.errors;
    // Redis answers again, but while open the store does not ask it: a miss, no new error.
    for (let i = 0; i < 10; i++) assert.equal(await store.get(key), undefined);
    await store.set(`${key}-skipped`, 'w', MINUTE);
    clock.advance(BREAKER_COOLDOWN_MS - 1);
    assert.equal(await store.get(key), undefined, 'still open 1 ms before the cooldown ends');
    assert.equal(store.errors, errors, 'no operation reached Redis while open');
    assert.equal(store.healthy, false);
    clock.advance(1);
    assert.equal(await store.get(key), 'v', 'half-open: the lookup goes to Redis');
    assert.equal(store.healthy, true, 'the success closed it');
    assert.equal(await store.get(`${key}-skipped`), undefined, 'the write made while open was skipped');
    assert.equal(store.errors, errors);
  });

  it('half-open: the first failure opens it again at once', async () => {
    const { store, clock, key } = await connectedStore();
    redis.pause();
    await failingLookups(store, key, BREAKER_THRESHOLD);
    clock.advance(BREAKER_COOLDOWN_MS);
    await failingLookups(store, key, 1); // half-open: tried, and failed
    redis.resume();
    const errors = store.errors;
    assert.equal(errors, BREAKER_THRESHOLD + 1);
    assert.equal(await store.get(key), undefined, 'open again after one failure, not three');
    assert.equal(store.errors, errors);
    clock.advance(BREAKER_COOLDOWN_MS);
    assert.equal(await store.get(key), 'v');
    assert.equal(store.healthy, true);
  });

  it('probe() asks Redis past the open breaker and closes it when Redis answers', async () => {
    const { store, key } = await connectedStore();
    redis.pause();
    await failingLookups(store, key, BREAKER_THRESHOLD);
    redis.resume();
    assert.equal(await store.get(key), undefined, 'open');
    assert.equal(await store.probe(), true);
    assert.equal(store.healthy, true);
    assert.equal(await store.get(key), 'v', 'closed by the probe, without waiting for the cooldown');
  });

  it('invalidations are not behind the breaker: written while lookups are skipped', async () => {
    const { store, clock, key } = await connectedStore();
    const model = `m-${randomUUID()}`;
    const first = await store.ensureEpoch(model);
    assert.ok(first);
    assert.equal(await store.ensureEpoch(model), first, 'an existing generation is kept');
    redis.pause();
    await failingLookups(store, key, BREAKER_THRESHOLD);
    redis.resume();
    await store.bumpEpoch(model); // open, yet written
    assert.equal(await store.getEpoch(model), undefined, 'lookups are still skipped');
    clock.advance(BREAKER_COOLDOWN_MS);
    const bumped = await store.getEpoch(model);
    assert.ok(bumped && bumped !== first, 'the bump made while open took effect');
    await store.dropEpoch(model);
    assert.equal(await store.getEpoch(model), null);
  });

  it('a refused connection: every operation is a miss at once and the store reports the outage', async () => {
    const port = await freePort(); // nothing listens there
    const store = new RedisCacheStore(`redis://127.0.0.1:${port}`, TIMEOUT_MS, manualClock().now);
    stores.push(store);
    await store.onModuleInit();
    for (let i = 0; i < BREAKER_THRESHOLD; i++) assert.equal(await store.get('k'), undefined);
    await store.set('k', 'v', MINUTE);
    assert.equal(await store.getEpoch('m'), undefined, 'an unavailable store has no answer, not "no generation"');
    assert.equal(store.healthy, false);
    assert.ok(store.errors >= BREAKER_THRESHOLD, `errors: ${store.errors}`);
    assert.equal(await store.probe(), false);
    await assert.rejects(store.bumpEpoch('m'), 'an invalidation that could not be written is an error');
  });
});

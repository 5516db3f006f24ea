import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../../test/support/clock';
import { MemoryCacheStore } from './memory-cache-store';

/** The store's accounting: key and value as UTF-16 code units, 2 bytes each. */
const cost = (key: string, value: string) => (key.length + value.length) * 2;

const MINUTE = 60_000;
/** A one-letter key with this value costs exactly 20 bytes. */
const V9 = 'v'.repeat(9);

async function present(store: MemoryCacheStore, ...keys: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const key of keys) if ((await store.get(key)) !== undefined) found.push(key);
  return found;
}

describe('MemoryCacheStore', () => {
  it('is the always-healthy memory store', () => {
    const store = new MemoryCacheStore(1024);
    assert.equal(store.kind, 'memory');
    assert.equal(store.healthy, true);
    assert.equal(store.errors, 0);
    assert.deepEqual(store.stats(), { entries: 0, bytes: 0 });
  });

  it('stores and returns values and counts entries and bytes', async () => {
    const store = new MemoryCacheStore(10_000);
    await store.set('alpha', 'one', MINUTE);
    await store.set('beta', 'second value', MINUTE);
    assert.equal(await store.get('alpha'), 'one');
    assert.equal(await store.get('beta'), 'second value');
    assert.equal(await store.get('gamma'), undefined);
    assert.deepEqual(store.stats(), { entries: 2, bytes: cost('alpha', 'one') + cost('beta', 'second value') });
  });

  it('replacing a key does not count its old value twice', async () => {
    const store = new MemoryCacheStore(10_000);
    await store.set('k', 'a long first value', MINUTE);
    await store.set('k', 'short', MINUTE);
    assert.equal(await store.get('k'), 'short');
    assert.deepEqual(store.stats(), { entries: 1, bytes: cost('k', 'short') });
  });

  it('evicts the least recently used entries first when over the byte limit', async () => {
    const store = new MemoryCacheStore(60); // room for exactly three 20-byte entries
    await store.set('a', V9, MINUTE);
    await store.set('b', V9, MINUTE);
    await store.set('c', V9, MINUTE);
    assert.deepEqual(store.stats(), { entries: 3, bytes: 60 });

    await store.set('d', V9, MINUTE); // a is the oldest
    assert.deepEqual(store.stats(), { entries: 3, bytes: 60 });
    assert.equal(await store.get('a'), undefined);
    // order of use is now b, c, d
    assert.deepEqual(await present(store, 'b', 'c', 'd'), ['b', 'c', 'd']);
  });

  it('a get refreshes recency: the entry read last survives the next eviction', async () => {
    const store = new MemoryCacheStore(60);
    await store.set('a', V9, MINUTE);
    await store.set('b', V9, MINUTE);
    await store.set('c', V9, MINUTE);
    assert.equal(await store.get('a'), V9); // order b, c, a
    await store.set('d', V9, MINUTE); // evicts b
    assert.equal(await store.get('b'), undefined);
    assert.equal(await store.get('a'), V9);
    await store.set('e', V9, MINUTE); // order of use c, d, a: evicts c
    assert.equal(await store.get('c'), undefined);
    assert.deepEqual(await present(store, 'd', 'a', 'e'), ['d', 'a', 'e']);
    assert.deepEqual(store.stats(), { entries: 3, bytes: 60 });
  });

  it('a large entry evicts as many old entries as it needs, and no more', async () => {
    const store = new MemoryCacheStore(60);
    await store.set('a', V9, MINUTE);
    await store.set('b', V9, MINUTE);
    await store.set('c', V9, MINUTE);
    await store.set('x', 'v'.repeat(19), MINUTE); // 40 bytes: a and b must go, c stays
    assert.deepEqual(await present(store, 'a', 'b'), []);
    assert.equal(await store.get('c'), V9);
    assert.equal(await store.get('x'), 'v'.repeat(19));
    assert.deepEqual(store.stats(), { entries: 2, bytes: 60 });
  });

  it('does not store an entry larger than the limit, and keeps what it holds', async () => {
    const store = new MemoryCacheStore(60);
    await store.set('a', V9, MINUTE);
    await store.set('b', V9, MINUTE);
    await store.set('huge', 'v'.repeat(100), MINUTE);
    assert.equal(await store.get('huge'), undefined);
    assert.deepEqual(await present(store, 'a', 'b'), ['a', 'b']);
    assert.deepEqual(store.stats(), { entries: 2, bytes: 40 });
  });

  it('an entry of exactly the limit is stored', async () => {
    const store = new MemoryCacheStore(20);
    await store.set('a', V9, MINUTE);
    assert.equal(await store.get('a'), V9);
    assert.deepEqual(store.stats(), { entries: 1, bytes: 20 });
  });

  it('a limit of 0 stores nothing', async () => {
    const store = new MemoryCacheStore(0);
    await store.set('a', 'v', MINUTE);
    assert.equal(await store.get('a'), undefined);
    assert.deepEqual(store.stats(), { entries: 0, bytes: 0 });
  });

  it('expires entries after their TTL and gives their bytes back', async () => {
    const clock = manualClock();
    const store = new MemoryCacheStore(10_000, clock.now);
    await store.set('short', 'lived', 40);
    await store.set('long', 'lived', MINUTE);
    // lru-cache: an entry is stale once its age exceeds the TTL (PredictionCacheService checks
    // each entry's own expiry to the millisecond on top of this).
    clock.advance(40);
    assert.equal(await store.get('short'), 'lived', 'alive for its whole TTL');
    clock.advance(1);
    assert.equal(await store.get('short'), undefined, 'gone once the TTL has passed');
    assert.equal(await store.get('long'), 'lived');
    assert.deepEqual(store.stats(), { entries: 1, bytes: cost('long', 'lived') });
  });

  it('a get does not extend the TTL', async () => {
    const clock = manualClock();
    const store = new MemoryCacheStore(10_000, clock.now);
    await store.set('k', 'v', 100);
    clock.advance(60);
    assert.equal(await store.get('k'), 'v');
    clock.advance(41); // 101 ms after the set, 41 after the get
    assert.equal(await store.get('k'), undefined);
  });

  it('setting a key again restarts its TTL', async () => {
    const clock = manualClock();
    const store = new MemoryCacheStore(10_000, clock.now);
    await store.set('k', 'v', 80);
    clock.advance(50);
    await store.set('k', 'w', 80);
    clock.advance(50); // 100 ms after the first set: only the second one keeps it
    assert.equal(await store.get('k'), 'w');
    clock.advance(31);
    assert.equal(await store.get('k'), undefined);
  });

  describe('epochs', () => {
    it('are stable per model until bumped, and a bump changes only that model', async () => {
      const store = new MemoryCacheStore(10_000);
      const a1 = await store.ensureEpoch('a');
      const b1 = await store.ensureEpoch('b');
      assert.equal(typeof a1, 'string');
      assert.ok(a1.length > 0);
      assert.notEqual(a1, b1);
      assert.equal(await store.getEpoch('a'), a1);
      await store.bumpEpoch('a');
      const a2 = await store.getEpoch('a');
      assert.notEqual(a2, a1);
      assert.equal(await store.getEpoch('a'), a2);
      assert.equal(await store.getEpoch('b'), b1);
      await store.bumpEpoch('a');
      assert.notEqual(await store.getEpoch('a'), a2);
      assert.notEqual(await store.getEpoch('a'), a1);
    });

    it('are never created by reading: an unknown name leaves nothing behind', async () => {
      const store = new MemoryCacheStore(10_000);
      for (let i = 0; i < 100; i++) assert.equal(await store.getEpoch(`nosuch-${i}`), null);
      assert.equal(await store.getEpoch('nosuch-0'), null);
      const created = await store.ensureEpoch('real');
      assert.equal(await store.getEpoch('real'), created);
      await store.dropEpoch('real');
      assert.equal(await store.getEpoch('real'), null);
      const again = await store.ensureEpoch('real');
      assert.notEqual(again, created, 'a model created again under the same name starts a new generation');
    });

    it('bumping a model never seen before gives it a generation', async () => {
      const store = new MemoryCacheStore(10_000);
      await store.bumpEpoch('fresh');
      const epoch = await store.getEpoch('fresh');
      assert.ok(epoch);
      assert.equal(await store.getEpoch('fresh'), epoch);
    });

    it('survive eviction of every entry and do not count as entries or bytes', async () => {
      const store = new MemoryCacheStore(40);
      const epochs = new Map<string, string>();
      for (const model of ['m1', 'm2', 'm3']) epochs.set(model, await store.ensureEpoch(model));
      for (let i = 0; i < 50; i++) await store.set(`k${String(i).padStart(2, '0')}`, 'v'.repeat(7), MINUTE); // 20 bytes each
      assert.deepEqual(store.stats(), { entries: 2, bytes: 40 });
      for (const [model, epoch] of epochs) assert.equal(await store.getEpoch(model), epoch);
      // even a store that holds nothing keeps them
      const empty = new MemoryCacheStore(0);
      const e = await empty.ensureEpoch('m');
      await empty.set('x', 'y', MINUTE);
      assert.equal(await empty.getEpoch('m'), e);
    });
  });

  it('close() empties it', async () => {
    const store = new MemoryCacheStore(1_000);
    await store.set('a', 'b', MINUTE);
    await store.close();
    assert.equal(await store.get('a'), undefined);
    assert.deepEqual(store.stats(), { entries: 0, bytes: 0 });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBucketStore } from './memory-bucket-store';

const T0 = 1_700_000_000_000;

describe('MemoryBucketStore', () => {
  it('keeps one bucket per key', async () => {
    const store = new MemoryBucketStore();
    assert.equal((await store.take('a', 1, T0)).allowed, true);
    assert.equal((await store.take('a', 1, T0)).allowed, false);
    assert.equal((await store.take('b', 1, T0)).allowed, true, 'another key has its own bucket');
  });

  it('refills by the time it is given', async () => {
    const store = new MemoryBucketStore();
    await store.take('a', 1, T0);
    assert.equal((await store.take('a', 1, T0 + 59_999)).allowed, false);
    assert.equal((await store.take('a', 1, T0 + 60_000)).allowed, true);
  });

  it('stays bounded: past its size the least recently used bucket goes (and comes back full)', async () => {
    const store = new MemoryBucketStore(2);
    await store.take('a', 1, T0);
    await store.take('b', 1, T0);
    await store.take('c', 1, T0);
    assert.equal(store.size, 2);
    assert.equal((await store.take('c', 1, T0)).allowed, false, 'the recent bucket is kept');
    assert.equal((await store.take('a', 1, T0)).allowed, true, 'the evicted bucket starts full');
  });
});

import { LRUCache } from 'lru-cache';
import { BucketState, takeToken } from './token-bucket';
import { BucketStore, StoreTake } from './bucket-store';

/** Buckets kept at most; past it the least recently used one is dropped (it comes back full). */
export const MAX_MEMORY_BUCKETS = 100_000;

/**
 * Buckets in this process, for a single replica without REDIS_URL (and as the fallback of the
 * Redis store during an outage). Bounded by an LRU: a credential idle long enough to be evicted
 * would have found its bucket full again anyway, unless more than MAX_MEMORY_BUCKETS credentials
 * are active within a minute.
 */
export class MemoryBucketStore extends BucketStore {
  private readonly buckets: LRUCache<string, BucketState>;

  constructor(maxBuckets = MAX_MEMORY_BUCKETS) {
    super();
    this.buckets = new LRUCache({ max: maxBuckets });
  }

  take(key: string, limit: number, now: number): Promise<StoreTake> {
    return Promise.resolve(this.takeNow(key, limit, now));
  }

  /** The same, synchronously (the benchmark and the Redis fallback need no promise). */
  takeNow(key: string, limit: number, now: number): StoreTake {
    const result = takeToken(this.buckets.get(key), limit, now);
    if (result.next) this.buckets.set(key, result.next);
    return { allowed: result.allowed, units: result.units };
  }

  get size(): number {
    return this.buckets.size;
  }
}

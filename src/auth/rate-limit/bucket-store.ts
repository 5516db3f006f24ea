/** The answer of a store: whether the request got a token, and the units left (token-bucket.ts). */
export interface StoreTake {
  allowed: boolean;
  units: number;
}

/**
 * Where the buckets live: in this process (MemoryBucketStore) or in Redis, shared by replicas
 * (RedisBucketStore). `take` refills the bucket up to `now` and takes one token atomically. It
 * never rejects: a store that cannot answer decides some other way and says so in its own log.
 */
export abstract class BucketStore {
  abstract take(key: string, limit: number, now: number): Promise<StoreTake>;
}

import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { CacheStore, CacheStoreStats } from './cache-store';

/** What an entry weighs: key and value as UTF-16 code units, 2 bytes each (at least 2 bytes). */
const weight = (value: string, key: string): number => (key.length + value.length) * 2;

/**
 * The embedded default: lru-cache bounded by bytes (`maxSize` with `sizeCalculation`), each entry
 * with its own TTL. Epochs are kept apart from the LRU so an eviction can never bring back an old
 * generation's entries.
 */
export class MemoryCacheStore extends CacheStore {
  readonly kind = 'memory' as const;
  private readonly entries: LRUCache<string, string>;
  private readonly epochs = new Map<string, string>();

  constructor(
    maxBytes: number,
    /** The clock entries expire by: Date.now (which e2e tests shift), or a unit spec's own. */
    now: () => number = () => Date.now(),
  ) {
    super();
    this.entries = new LRUCache<string, string>({
      // lru-cache needs a positive size; every entry weighs at least 2 bytes, so 1 byte holds nothing.
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: weight,
      perf: { now },
      // Read the clock at every check instead of caching it for 1 ms with a timer.
      ttlResolution: 0,
    });
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.entries.get(key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.set(key, value, { ttl: ttlMs });
    return Promise.resolve();
  }

  getEpoch(model: string): Promise<string | null> {
    return Promise.resolve(this.epochs.get(model) ?? null);
  }

  ensureEpoch(model: string): Promise<string> {
    let epoch = this.epochs.get(model);
    if (!epoch) {
      epoch = randomUUID();
      this.epochs.set(model, epoch);
    }
    return Promise.resolve(epoch);
  }

  bumpEpoch(model: string): Promise<void> {
    this.epochs.set(model, randomUUID());
    return Promise.resolve();
  }

  dropEpoch(model: string): Promise<void> {
    this.epochs.delete(model);
    return Promise.resolve();
  }

  stats(): CacheStoreStats {
    return { entries: this.entries.size, bytes: this.entries.calculatedSize };
  }

  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }

  get errors(): number {
    return 0;
  }

  get healthy(): boolean {
    return true;
  }

  close(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }
}

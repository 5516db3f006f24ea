import { randomUUID } from 'node:crypto';
import { CacheStore, CacheStoreStats } from './cache-store';

interface Entry {
  value: string;
  expires: number;
  bytes: number;
}

/**
 * Bounded in-memory LRU (by bytes) for the embedded default. Epochs are kept apart from the LRU
 * so an eviction can never bring back an old generation's entries.
 */
export class MemoryCacheStore extends CacheStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly epochs = new Map<string, string>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    /** The clock entries expire by (tests pass their own). */
    private readonly now: () => number = () => Date.now(),
  ) {
    super();
  }

  get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return Promise.resolve(undefined);
    if (entry.expires <= this.now()) {
      this.remove(key, entry);
      return Promise.resolve(undefined);
    }
    this.entries.delete(key); // most recently used last
    this.entries.set(key, entry);
    return Promise.resolve(entry.value);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    const bytes = (key.length + value.length) * 2;
    if (bytes > this.maxBytes) return Promise.resolve();
    const previous = this.entries.get(key);
    if (previous) this.remove(key, previous);
    this.entries.set(key, { value, expires: this.now() + ttlMs, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest, entry);
    }
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
    return { entries: this.entries.size, bytes: this.bytes };
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
    this.bytes = 0;
    return Promise.resolve();
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}

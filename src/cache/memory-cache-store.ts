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

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.remove(key, entry);
      return undefined;
    }
    this.entries.delete(key); // most recently used last
    this.entries.set(key, entry);
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const bytes = (key.length + value.length) * 2;
    if (bytes > this.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous) this.remove(key, previous);
    this.entries.set(key, { value, expires: this.now() + ttlMs, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest, entry);
    }
  }

  async getEpoch(model: string): Promise<string | null> {
    return this.epochs.get(model) ?? null;
  }

  async ensureEpoch(model: string): Promise<string> {
    let epoch = this.epochs.get(model);
    if (!epoch) {
      epoch = randomUUID();
      this.epochs.set(model, epoch);
    }
    return epoch;
  }

  async bumpEpoch(model: string): Promise<void> {
    this.epochs.set(model, randomUUID());
  }

  async dropEpoch(model: string): Promise<void> {
    this.epochs.delete(model);
  }

  stats(): CacheStoreStats {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  async probe(): Promise<boolean> {
    return true;
  }

  get errors(): number {
    return 0;
  }

  get healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}

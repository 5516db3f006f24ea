export interface CacheStoreStats {
  /** Entries and bytes held, for stores that can tell (the in-memory LRU). */
  entries?: number;
  bytes?: number;
}

/**
 * Where cached predictions live. Values are strings; operations never throw: a failing store
 * answers `undefined` (a miss) and reports itself degraded.
 */
export abstract class CacheStore {
  abstract readonly kind: 'memory' | 'redis';
  abstract get(key: string): Promise<string | undefined>;
  abstract set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * The model's current cache generation: null when it has none yet, undefined while the store is
   * unavailable. Reading never creates one, so names that do not exist leave nothing behind.
   */
  abstract getEpoch(model: string): Promise<string | null | undefined>;
  /** The current generation, created first if there is none (call only for a model that exists). */
  abstract ensureEpoch(model: string): Promise<string | undefined>;
  /** Starts a new generation: every entry of the old one becomes unreachable. */
  abstract bumpEpoch(model: string): Promise<void>;
  /** Removes the generation of a deleted model: its entries become unreachable, and nothing stays. */
  abstract dropEpoch(model: string): Promise<void>;
  abstract stats(): CacheStoreStats;
  /** One round trip past any breaker; true when the store answered. */
  abstract probe(): Promise<boolean>;
  /** Operations that failed or timed out since start. */
  abstract get errors(): number;
  /** False while the store is failing (outage); the service keeps answering without it. */
  abstract get healthy(): boolean;
  abstract close(): Promise<void>;
}

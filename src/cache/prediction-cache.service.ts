import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { AppConfig } from '../config/app-config';
import { MODEL_CHANGED, ModelChangedEvent } from '../models/model-events';
import { CacheStore } from './cache-store';

/**
 * One cached prediction, stored as this JSON under each of its keys. The field names cost about
 * 56 bytes per entry over one-letter ones (an MLP entry with 3 outputs: 409 bytes against 353);
 * the outputs dominate any larger entry.
 */
export interface CachedPrediction {
  model: string;
  /** The version as requested: a number, an alias name, or null for the latest. */
  requestedVersion: number | string | null;
  /** The model's cache generation when stored. */
  epoch: string;
  /** sha256 of the version that ran. */
  sha256: string;
  /** The version number that ran. */
  version: number;
  /** The outputs object, serialized. */
  outputs: string;
  /** Canonical hash of the inputs. */
  inputHash: string;
  /** Expiry, epoch milliseconds: a key added later (the raw alias of a hit) lives no longer. */
  expiresAt: number;
}

export interface CacheSettings {
  enabled: boolean;
  ttlSeconds: number;
}

export interface CacheStats {
  store: 'memory' | 'redis';
  healthy: boolean;
  hits: number;
  misses: number;
  bypasses: number;
  hitRatio: number;
  errors: number;
  skippedTooLarge: number;
  entries?: number;
  bytes?: number;
}

/**
 * The prediction cache's keys and bookkeeping. Two keys point at an entry: the sha256 of the raw
 * request body (answers a repeated request without parsing it) and a canonical key built from
 * the version's sha256, the requested outputs and a hash of every input's name, dtype, shape and
 * values (so nested and {shape, data} forms of one tensor meet). Keys carry the model's cache
 * generation, kept in the shared store: bumping it makes old entries unreachable on every replica.
 */
@Injectable()
export class PredictionCacheService implements OnApplicationShutdown {
  private readonly logger = new Logger(PredictionCacheService.name);
  private hits = 0;
  private misses = 0;
  private bypasses = 0;
  private skippedTooLarge = 0;

  constructor(
    private readonly store: CacheStore,
    private readonly config: AppConfig,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }

  get healthy(): boolean {
    return this.store.healthy;
  }

  /** Asks the store directly, past any breaker: how readiness notices a recovered Redis. */
  probe(): Promise<boolean> {
    return this.store.probe();
  }

  /**
   * The model's current generation: null when it has none yet (never created for a name that
   * does not exist), undefined while the store is unavailable.
   */
  epoch(model: string): Promise<string | null | undefined> {
    return this.store.getEpoch(model);
  }

  /** The generation of a model that exists, created on its first prediction. */
  ensureEpoch(model: string): Promise<string | undefined> {
    return this.store.ensureEpoch(model);
  }

  /**
   * A registry write: a deleted model's generation is dropped, a change of what a prediction may
   * answer starts a new one. Awaited by the write, so its response follows the change. A write
   * heard from another replica is skipped: the generation lives in the Redis both share (a replica
   * hears others only through Redis), and the writer already moved it.
   */
  @OnEvent(MODEL_CHANGED)
  async onModelChanged(event: ModelChangedEvent): Promise<void> {
    if (event.fromReplica) return;
    if (event.kind === 'deleted') await this.forget(event.model);
    else if (event.servingChanged) await this.invalidate(event.model);
  }

  /** Makes every cached prediction of the model unreachable, here and on every replica. */
  async invalidate(model: string): Promise<void> {
    await this.attempt(model, () => this.store.bumpEpoch(model));
  }

  /** As invalidate, for a deleted model: its generation is removed rather than replaced. */
  async forget(model: string): Promise<void> {
    await this.attempt(model, () => this.store.dropEpoch(model));
  }

  private async attempt(model: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.logger.warn({ msg: 'could not invalidate cached predictions', model, err: (error as Error).message });
    }
  }

  async getRaw(rawHash: string): Promise<CachedPrediction | undefined> {
    return this.read(`raw:${rawHash}`);
  }

  canonicalKey(model: string, epoch: string, sha256: string, outputs: string[] | undefined, inputHash: string): string {
    const wanted = outputs ? [...outputs].sort().join(',') : '*';
    return `can:${model}:${epoch}:${sha256}:${wanted}:${inputHash}`;
  }

  async getCanonical(key: string): Promise<CachedPrediction | undefined> {
    return this.read(key);
  }

  /** Stores an entry under its keys until its expiry, unless it is larger than CACHE_MAX_ENTRY_BYTES. */
  async put(keys: string[], entry: CachedPrediction): Promise<void> {
    // The outputs dominate an entry: a response too large to cache is never serialized again.
    if (entry.outputs.length > this.config.cache.maxEntryBytes) {
      this.skippedTooLarge++;
      return;
    }
    const value = JSON.stringify(entry);
    if (Buffer.byteLength(value) > this.config.cache.maxEntryBytes) {
      this.skippedTooLarge++;
      return;
    }
    const ttlMs = entry.expiresAt - Date.now();
    if (ttlMs <= 0) return;
    await Promise.all(keys.map((key) => this.store.set(key, value, ttlMs)));
  }

  countHit(): void {
    this.hits++;
  }

  countMiss(): void {
    this.misses++;
  }

  countBypass(): void {
    this.bypasses++;
  }

  stats(): CacheStats {
    const lookups = this.hits + this.misses;
    return {
      store: this.store.kind,
      healthy: this.store.healthy,
      hits: this.hits,
      misses: this.misses,
      bypasses: this.bypasses,
      hitRatio: lookups === 0 ? 0 : this.hits / lookups,
      errors: this.store.errors,
      skippedTooLarge: this.skippedTooLarge,
      ...this.store.stats(),
    };
  }

  private async read(key: string): Promise<CachedPrediction | undefined> {
    const value = await this.store.get(key);
    if (value === undefined) return undefined;
    try {
      const entry = JSON.parse(value) as CachedPrediction;
      return entry.expiresAt > Date.now() ? entry : undefined;
    } catch {
      return undefined;
    }
  }
}

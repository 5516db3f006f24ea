import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import KeyvRedis, { Keyv } from '@keyv/redis';
import { Cache, createCache } from 'cache-manager';
import { CacheStore, CacheStoreStats } from './cache-store';

const OUTAGE_LOG_INTERVAL_MS = 30_000;
/** After this many failures in a row the store is skipped for a while (a single slow answer under load is not an outage). */
const BREAKER_THRESHOLD = 3;
/** How long the store is skipped before one request probes it again. */
const BREAKER_COOLDOWN_MS = 1_000;

class CacheTimeout extends Error {}

/**
 * Redis through cache-manager with the Keyv Redis store. Every operation has a short timeout and
 * a failure counts as a miss. After a failure a breaker skips Redis for a second, so an outage
 * costs requests nothing but the cache; the client reconnects by itself and the cache resumes.
 * Outages are logged once per interval, not per request.
 */
export class RedisCacheStore extends CacheStore {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('PredictionCache');
  private readonly cache: Cache;
  private readonly keyv: Keyv;
  private readonly redis: KeyvRedis<string>;
  private failures = 0;
  private consecutiveFailures = 0;
  private openUntil = 0;
  private lastOutageLog = 0;
  private failingSince: number | undefined;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    super();
    const store = new KeyvRedis(
      {
        url,
        disableOfflineQueue: true,
        socket: { connectTimeout: 1_000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) },
      },
      { throwOnConnectError: false, throwOnErrors: true, namespace: 'modelforge:cache' },
    );
    store.on('error', (error: Error) => this.noteFailure(error));
    this.redis = store;
    this.keyv = new Keyv({ store, namespace: 'modelforge:cache', useKeyPrefix: false });
    this.keyv.on('error', (error: Error) => this.noteFailure(error));
    this.cache = createCache({ stores: [this.keyv] });
  }

  get(key: string): Promise<string | undefined> {
    return this.guard(() => this.cache.get<string>(key).then((v) => v ?? undefined), undefined);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.guard(() => this.cache.set(key, value, ttlMs).then(() => undefined), undefined);
  }

  async getEpoch(model: string): Promise<string | null | undefined> {
    return this.guard(async () => (await this.cache.get<string>(`epoch:${model}`)) ?? null, undefined);
  }

  async ensureEpoch(model: string): Promise<string | undefined> {
    return this.guard(async () => {
      const key = `epoch:${model}`;
      const current = await this.cache.get<string>(key);
      if (current) return current;
      // A missing generation (new model, or evicted) gets a fresh one: old entries stay unreachable.
      // Two replicas racing here each write one; the later wins and the earlier's entries are misses.
      await this.cache.set(key, randomUUID());
      return (await this.cache.get<string>(key)) ?? undefined;
    }, undefined);
  }

  async bumpEpoch(model: string): Promise<void> {
    await this.writeEpoch(() => this.cache.set(`epoch:${model}`, randomUUID()));
  }

  async dropEpoch(model: string): Promise<void> {
    await this.writeEpoch(() => this.cache.del(`epoch:${model}`));
  }

  /** Not behind the breaker: an invalidation must be attempted even while lookups are skipped. */
  private async writeEpoch(write: () => Promise<unknown>): Promise<void> {
    try {
      await this.withTimeout(write(), this.timeoutMs * 10);
    } catch (error) {
      this.noteFailure(error as Error);
      throw error;
    }
  }

  async probe(): Promise<boolean> {
    try {
      await this.withTimeout(this.cache.get('probe'), this.timeoutMs * 5);
      this.assertConnected();
      this.consecutiveFailures = 0;
      this.openUntil = 0;
      if (this.failingSince !== undefined) {
        this.logger.log({ msg: 'prediction cache reachable again', downMs: Date.now() - this.failingSince });
        this.failingSince = undefined;
      }
      return true;
    } catch (error) {
      this.noteFailure(error as Error);
      return false;
    }
  }

  stats(): CacheStoreStats {
    return {};
  }

  get errors(): number {
    return this.failures;
  }

  get healthy(): boolean {
    return this.failingSince === undefined;
  }

  async close(): Promise<void> {
    await this.withTimeout(this.cache.disconnect(), 1_000).catch(() => undefined);
  }

  private async guard<T>(operation: () => Promise<T>, fallback: T): Promise<T> {
    if (Date.now() < this.openUntil) return fallback;
    try {
      const result = await this.withTimeout(operation(), this.timeoutMs);
      this.assertConnected();
      this.consecutiveFailures = 0;
      if (this.failingSince !== undefined) {
        this.logger.log({ msg: 'prediction cache reachable again', downMs: Date.now() - this.failingSince });
        this.failingSince = undefined;
      }
      return result;
    } catch (error) {
      this.noteFailure(error as Error);
      return fallback;
    }
  }

  /**
   * A disconnected client answers operations with nothing rather than an error: an operation
   * counts as a success only if the client is connected once it is done (the first one connects it).
   */
  private assertConnected(): void {
    const client = this.redis.client as { isReady?: boolean };
    if (client.isReady === false) throw new Error('Redis client is not connected');
  }

  private noteFailure(error: Error): void {
    this.failures++;
    this.consecutiveFailures++;
    const now = Date.now();
    if (this.consecutiveFailures < BREAKER_THRESHOLD) return;
    this.openUntil = now + BREAKER_COOLDOWN_MS;
    this.failingSince ??= now;
    if (now - this.lastOutageLog >= OUTAGE_LOG_INTERVAL_MS) {
      this.lastOutageLog = now;
      const reason = error instanceof CacheTimeout ? `no answer within ${this.timeoutMs} ms` : error.message;
      this.logger.warn({
        msg: 'prediction cache unavailable; predictions continue without it',
        reason,
        failures: this.failures,
      });
    }
  }

  private withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CacheTimeout()), ms);
    });
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

import { randomUUID } from 'node:crypto';
import { Logger, OnModuleInit } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { withTimeout } from '../common/timeout';
import { CacheStore, CacheStoreStats } from './cache-store';

const OUTAGE_LOG_INTERVAL_MS = 30_000;
/** After this many failures in a row the store is skipped for a while (a single slow answer under load is not an outage). */
export const BREAKER_THRESHOLD = 3;
/** How long the store is skipped before requests try it again. */
export const BREAKER_COOLDOWN_MS = 1_000;
/** Every key of the cache: `modelforge:cache:raw:<sha256>`, `modelforge:cache:can:…`, `modelforge:cache:epoch:<model>`. */
const KEY_PREFIX = 'modelforge:cache:';
/** How long the start waits for the first connection (without it, the first lookups would miss). */
const STARTUP_WAIT_MS = 2_000;

class CacheTimeout extends Error {}

/**
 * The shared prediction cache on Redis, through one ioredis client: values are the stored strings
 * as they are, with `PX` expiry. Every operation has a short timeout, and a failure counts as a
 * miss. A circuit breaker skips Redis after BREAKER_THRESHOLD failures in a row: for
 * BREAKER_COOLDOWN_MS operations answer at once without asking it (open); after that they try it
 * again (half-open): the first failure opens it again, a success closes it. So an outage costs
 * requests nothing but the cache; the client reconnects by itself and the cache resumes. Outages
 * are logged once per interval, not per request.
 */
export class RedisCacheStore extends CacheStore implements OnModuleInit {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('PredictionCache');
  private readonly client: Redis;
  private failures = 0;
  private consecutiveFailures = 0;
  private openUntil = 0;
  private lastOutageLog = -Infinity;
  private failingSince: number | undefined;

  constructor(
    url: string,
    private readonly timeoutMs: number,
    /** The clock of the breaker's cooldown (unit specs pass their own). */
    private readonly now: () => number = () => Date.now(),
    options: RedisOptions = {},
  ) {
    super();
    this.client = new Redis(url, {
      keyPrefix: KEY_PREFIX,
      // While disconnected a command fails at once (a miss) instead of waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2_000),
      // Commands issued in the same tick leave in one write, as node-redis (under the previous
      // store) does by default: more hits per second with 16 concurrent lookups in bench:cache.
      enableAutoPipelining: true,
      ...options,
    });
    this.client.on('error', (error: Error) => this.noteFailure(error));
  }

  /** Resolves once the client is connected, or has failed to, or after STARTUP_WAIT_MS. */
  async onModuleInit(): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const events = ['ready', 'error', 'end'];
      const settle = () => {
        clearTimeout(timer);
        for (const event of events) this.client.off(event, settle);
        resolve();
      };
      const timer = setTimeout(settle, STARTUP_WAIT_MS);
      for (const event of events) this.client.once(event, settle);
    });
  }

  get(key: string): Promise<string | undefined> {
    return this.guard(async () => (await this.client.get(key)) ?? undefined, undefined);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    await this.guard(async () => void (await this.client.set(key, value, 'PX', ttl)), undefined);
  }

  getEpoch(model: string): Promise<string | null | undefined> {
    return this.guard(() => this.client.get(epochKey(model)), undefined);
  }

  ensureEpoch(model: string): Promise<string | undefined> {
    return this.guard(async () => {
      // A missing generation (new model) gets a fresh one, atomically: replicas racing here all
      // read the one that was written first.
      const results = await this.client.multi().set(epochKey(model), randomUUID(), 'NX').get(epochKey(model)).exec();
      const [error, epoch] = results?.[1] ?? [new Error('the transaction was discarded'), null];
      if (error) throw error;
      return typeof epoch === 'string' ? epoch : undefined;
    }, undefined);
  }

  async bumpEpoch(model: string): Promise<void> {
    await this.writeEpoch(() => this.client.set(epochKey(model), randomUUID()));
  }

  async dropEpoch(model: string): Promise<void> {
    await this.writeEpoch(() => this.client.del(epochKey(model)));
  }

  /** Not behind the breaker: an invalidation must be attempted even while lookups are skipped. */
  private async writeEpoch(write: () => Promise<unknown>): Promise<void> {
    try {
      await this.timed(write(), this.timeoutMs * 10);
    } catch (error) {
      this.noteFailure(error as Error);
      throw error;
    }
  }

  /** One PING past the breaker (readiness asks it); an answer closes the breaker. */
  async probe(): Promise<boolean> {
    try {
      await this.timed(this.client.ping(), this.timeoutMs * 5);
      this.openUntil = 0;
      this.noteSuccess();
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
    try {
      await this.timed(this.client.quit(), 1_000);
    } catch {
      this.client.disconnect();
    }
  }

  private async guard<T>(operation: () => Promise<T>, fallback: T): Promise<T> {
    if (this.now() < this.openUntil) return fallback;
    try {
      const result = await this.timed(operation(), this.timeoutMs);
      this.noteSuccess();
      return result;
    } catch (error) {
      this.noteFailure(error as Error);
      return fallback;
    }
  }

  private timed<T>(work: Promise<T>, ms: number): Promise<T> {
    return withTimeout(work, ms, () => new CacheTimeout(`no answer within ${ms} ms`));
  }

  private noteSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.failingSince !== undefined) {
      this.logger.log({ msg: 'prediction cache reachable again', downMs: this.now() - this.failingSince });
      this.failingSince = undefined;
    }
  }

  private noteFailure(error: Error): void {
    this.failures++;
    this.consecutiveFailures++;
    if (this.consecutiveFailures < BREAKER_THRESHOLD) return;
    const now = this.now();
    this.openUntil = now + BREAKER_COOLDOWN_MS;
    this.failingSince ??= now;
    if (now - this.lastOutageLog >= OUTAGE_LOG_INTERVAL_MS) {
      this.lastOutageLog = now;
      this.logger.warn({
        msg: 'prediction cache unavailable; predictions continue without it',
        reason: error.message,
        failures: this.failures,
      });
    }
  }
}

function epochKey(model: string): string {
  return `epoch:${model}`;
}

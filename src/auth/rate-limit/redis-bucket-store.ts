import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { BucketStore, StoreTake } from './bucket-store';
import { MemoryBucketStore } from './memory-bucket-store';
import { FULL_REFILL_MS, UNITS_PER_TOKEN } from './token-bucket';

/**
 * takeToken() of token-bucket.ts, line by line, run atomically by Redis. The caller passes the
 * time, so every replica and the tests' clock drive the same arithmetic; the key expires once
 * the bucket would be full again (a missing bucket is a full one). A refused request writes nothing.
 */
const TAKE_TOKEN_LUA = `
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local unit = ${UNITS_PER_TOKEN}
local capacity = limit * unit
local stored = redis.call('HMGET', KEYS[1], 'units', 'at')
local units = capacity
local at = now
if stored[1] and stored[2] then
  local storedAt = tonumber(stored[2])
  local elapsed = math.min(math.max(0, now - storedAt), ${FULL_REFILL_MS})
  units = math.min(capacity, tonumber(stored[1]) + elapsed * limit)
  at = math.max(now, storedAt)
end
if units < unit then
  return {0, units}
end
units = units - unit
redis.call('HSET', KEYS[1], 'units', units, 'at', at)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - units) / limit) + 1000)
return {1, units}
`;

/** After a failure Redis is left alone this long; requests use this replica's buckets meanwhile. */
const BREAKER_MS = 1_000;
/** The start waits at most this long for the first connection. */
const STARTUP_WAIT_MS = 2_000;
/** At most one warning per this interval, however many requests fall back. */
const WARN_INTERVAL_MS = 30_000;

interface TokenBucketCommands {
  modelforgeTakeToken(key: string, limit: number, now: number): Promise<[number, number]>;
}

/**
 * Buckets in Redis, shared by every replica: one EVALSHA per limited request. Redis trouble never
 * fails or stalls a request: commands are not queued while disconnected and time out after
 * RATE_LIMIT_TIMEOUT_MS; then the limit is enforced per replica by an in-memory bucket (the limit
 * is multiplied by the number of replicas, never lifted) for a second before Redis is tried again.
 * The outage is logged at most once per 30 s.
 */
export class RedisBucketStore extends BucketStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RateLimits');
  private readonly client: Redis & TokenBucketCommands;
  private readonly fallback = new MemoryBucketStore();
  private skipUntil = 0;
  private lastWarning = -Infinity;
  private failingSince: number | undefined;

  constructor(
    url: string,
    timeoutMs: number,
    /** Called for each decision made locally because Redis could not make it (a metric counts them). */
    private readonly onFailure: () => void = () => undefined,
  ) {
    super();
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2_000),
    }) as Redis & TokenBucketCommands;
    this.client.defineCommand('modelforgeTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN_LUA });
    this.client.on('error', (error: Error) => this.warn(error));
  }

  /**
   * Waits for the first connection (or its failure, at most STARTUP_WAIT_MS), so that the first
   * requests after the start are not decided locally only because it was still being made.
   */
  async onModuleInit(): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const settle = () => {
        clearTimeout(timer);
        for (const event of ['ready', 'error', 'end']) this.client.off(event, settle);
        resolve();
      };
      const timer = setTimeout(settle, STARTUP_WAIT_MS);
      for (const event of ['ready', 'error', 'end']) this.client.once(event, settle);
    });
  }

  async take(key: string, limit: number, now: number): Promise<StoreTake> {
    if (performance.now() < this.skipUntil) return this.decideLocally(key, limit, now);
    try {
      const [allowed, units] = await this.client.modelforgeTakeToken(key, limit, now);
      if (this.failingSince !== undefined) {
        this.logger.log({
          msg: 'rate-limit store reachable again',
          downMs: Math.round(performance.now() - this.failingSince),
        });
        this.failingSince = undefined;
      }
      return { allowed: allowed === 1, units: Number(units) };
    } catch (error) {
      this.skipUntil = performance.now() + BREAKER_MS;
      this.failingSince ??= performance.now();
      this.warn(error as Error);
      return this.decideLocally(key, limit, now);
    }
  }

  private decideLocally(key: string, limit: number, now: number): StoreTake {
    this.onFailure();
    return this.fallback.takeNow(key, limit, now);
  }

  onModuleDestroy(): void {
    this.client.disconnect();
  }

  private warn(error: Error): void {
    const now = performance.now();
    if (now - this.lastWarning < WARN_INTERVAL_MS) return;
    this.lastWarning = now;
    this.logger.warn({
      msg: 'rate-limit store (Redis) unavailable; limits are enforced per replica until it is back',
      reason: error.message,
    });
  }
}

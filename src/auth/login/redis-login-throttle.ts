import { Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { UnavailableError } from '../../common/errors';
import { LoginAttempt, LoginThrottle, throttleKeys } from './login-throttle';

/**
 * Counts failed logins in Redis (REDIS_URL), shared by every replica: one key per username and
 * per address under `<JOBS_QUEUE_PREFIX>:login:`, INCR'd on a failure, expiring with the window
 * that the first failure opened. When Redis cannot answer, logins get 503: without the counts a
 * password could be guessed without limit.
 */
export class RedisLoginThrottle extends LoginThrottle implements OnModuleDestroy {
  private readonly logger = new Logger('LoginThrottle');
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    maxFailures: number,
    windowSeconds: number,
  ) {
    super(maxFailures, windowSeconds);
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, commandTimeout: 2_000 });
    this.redis.on('error', (error: Error) =>
      this.logger.warn({ msg: 'Redis error on login throttle', err: error.message }),
    );
  }

  async admit(attempt: LoginAttempt): Promise<void> {
    const keys = this.keys(attempt);
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.get(key).pttl(key);
    const results = await this.run(() => pipeline.exec());
    let lockedForMs = 0;
    for (let i = 0; i < keys.length; i += 1) {
      const failures = Number(results?.[i * 2]?.[1] ?? 0);
      const ttlMs = Number(results?.[i * 2 + 1]?.[1] ?? -2);
      if (failures >= this.maxFailures) {
        // A key without expiry cannot happen here (created with EX); count it as a full window.
        lockedForMs = Math.max(lockedForMs, ttlMs > 0 ? ttlMs : this.windowSeconds * 1000);
      }
    }
    if (lockedForMs > 0) this.refuse(Math.ceil(lockedForMs / 1000));
  }

  async recordFailure(attempt: LoginAttempt): Promise<void> {
    const multi = this.redis.multi();
    // The first failure opens the window (SET NX EX); later ones only count within it.
    for (const key of this.keys(attempt)) multi.set(key, '0', 'EX', this.windowSeconds, 'NX').incr(key);
    await this.run(() => multi.exec());
  }

  async recordSuccess(attempt: LoginAttempt): Promise<void> {
    await this.run(() => this.redis.del(this.keys(attempt)[0]));
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }

  private keys(attempt: LoginAttempt): string[] {
    return throttleKeys(attempt).map((key) => `${this.prefix}:login:${key}`);
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      this.logger.warn({ msg: 'Login throttle unavailable', err: (error as Error).message });
      throw new UnavailableError('Login is unavailable right now; retry shortly', 1);
    }
  }
}

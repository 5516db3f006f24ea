import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { TooManyRequestsError } from '../../common/errors';
import { AppConfig, AuthConfig } from '../../config/app-config';
import { MetricsService } from '../../metrics/metrics.service';
import type { Principal } from '../principal';
import { RateLimitHeaderSink, RateLimits } from '../rate-limits';
import { BucketStore } from './bucket-store';
import { describeBucket, RateLimitOutcome } from './token-bucket';

/** The credential's requests per minute: its own limit, else its role's default; 0 = unlimited. */
export function limitOf(principal: Principal, defaults: AuthConfig['rateLimitPerMinute']): number {
  return principal.rateLimitPerMinute ?? defaults[principal.role] ?? 0;
}

/**
 * The RateLimit fields of draft-ietf-httpapi-ratelimit-headers (the -06 layout: one field each),
 * plus Retry-After on a refusal. RateLimit-Policy names the window: the limit is per 60 s.
 */
export function rateLimitHeaders(outcome: RateLimitOutcome): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(outcome.limit),
    'RateLimit-Remaining': String(outcome.remaining),
    'RateLimit-Reset': String(outcome.resetSeconds),
    'RateLimit-Policy': `${outcome.limit};w=60`,
  };
  if (!outcome.allowed) headers['Retry-After'] = String(outcome.retryAfterSeconds);
  return headers;
}

/**
 * One token bucket per credential (its actor: `key:<id>`, `user:<id>`, `admin-key`), under
 * `<JOBS_QUEUE_PREFIX>:ratelimit:` in the store. Unlimited credentials (admin by default) cost
 * nothing and get no RateLimit headers.
 */
@Injectable()
export class TokenBucketRateLimits extends RateLimits {
  private readonly defaults: AuthConfig['rateLimitPerMinute'];
  private readonly keyPrefix: string;

  constructor(
    private readonly store: BucketStore,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    config: AppConfig,
  ) {
    super();
    this.defaults = config.auth.rateLimitPerMinute;
    this.keyPrefix = `${config.redis.keyPrefix}:ratelimit:`;
  }

  async admit(principal: Principal, res: RateLimitHeaderSink): Promise<void> {
    const limit = limitOf(principal, this.defaults);
    if (limit <= 0) return;
    const { allowed, units } = await this.store.take(this.keyPrefix + principal.actor, limit, this.clock.now());
    const outcome = describeBucket(limit, allowed, units);
    for (const [name, value] of Object.entries(rateLimitHeaders(outcome))) res.setHeader(name, value);
    if (allowed) return;
    this.metrics.increment('rate_limited_requests_total', 'Requests refused (429) by the per-credential rate limit', {
      role: principal.role,
    });
    throw new TooManyRequestsError(
      `Rate limit exceeded: this credential may make ${limit} requests per minute (bursts of up to ${limit}); ` +
        `retry in ${outcome.retryAfterSeconds} s`,
      outcome.retryAfterSeconds,
    );
  }
}

import type { AppConfig } from '../../config/app-config';
import type { MetricsService } from '../../metrics/metrics.service';
import { BucketStore } from './bucket-store';
import { MemoryBucketStore } from './memory-bucket-store';
import { RedisBucketStore } from './redis-bucket-store';

/**
 * Redis (shared by replicas) with REDIS_URL, else this process's memory. A worker process serves
 * no requests, so it opens no connection for rate limits.
 */
export function createBucketStore(config: AppConfig, metrics: MetricsService): BucketStore {
  if (!config.redis.url || !config.app.servesApi) return new MemoryBucketStore();
  return new RedisBucketStore(config.redis.url, config.auth.rateLimitTimeoutMs, () =>
    metrics.increment(
      'rate_limit_local_decisions_total',
      'Rate-limit decisions made by this replica alone because Redis did not answer in time',
    ),
  );
}

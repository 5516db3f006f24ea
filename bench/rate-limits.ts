/**
 * npm run bench:rate-limits (also part of npm run bench): the cost of one rate-limit decision,
 * as the access guard pays it, with ModelForge's token bucket in memory and in Redis, against
 * rate-limiter-flexible (a fixed-window limiter) when it is installed
 * (`npm install --no-save rate-limiter-flexible@11.4.0`; it is not a dependency).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import Redis from 'ioredis';
import type { Principal } from '../src/auth/principal';
import { BucketStore } from '../src/auth/rate-limit/bucket-store';
import { MemoryBucketStore } from '../src/auth/rate-limit/memory-bucket-store';
import { RedisBucketStore } from '../src/auth/rate-limit/redis-bucket-store';
import { TokenBucketRateLimits } from '../src/auth/rate-limit/token-bucket-rate-limits';
import { SystemClock } from '../src/common/clock';
import { AppConfig } from '../src/config/app-config';
import { loadEnvironment } from '../src/config/environment';
import type { MetricsService } from '../src/metrics/metrics.service';
import { percentile } from './load';

const MEMORY_OPS = Number(process.env.BENCH_RATE_LIMIT_MEMORY_OPS ?? 300_000);
const REDIS_OPS = Number(process.env.BENCH_RATE_LIMIT_REDIS_OPS ?? 20_000);
/** Distinct credentials the requests are spread over. */
const KEYS = 1_000;
/** High enough that no request is refused: every decision takes the same path. */
const LIMIT = 1_000_000;
const CONCURRENCY = 16;

type Decide = (key: string) => Promise<unknown>;

interface Result {
  name: string;
  sequential: { meanUs: number; p50Us: number; p99Us: number };
  concurrentOpsPerSecond: number;
}

/** The admit of the access guard (decision plus the RateLimit headers on a real ServerResponse). */
function admitOf(store: BucketStore): Decide {
  const config = new AppConfig(loadEnvironment({ RATE_LIMIT_PREDICTOR_PER_MINUTE: String(LIMIT) }));
  // Only a refusal touches the metrics, and nothing is refused here.
  const limits = new TokenBucketRateLimits(store, new SystemClock(), {} as MetricsService, config);
  const res = new http.ServerResponse(new http.IncomingMessage(new net.Socket()));
  return (key: string) => {
    const principal: Principal = {
      kind: 'key',
      id: key,
      name: key,
      role: 'predictor',
      actor: `key:${key}`,
      models: null,
      rateLimitPerMinute: null,
    };
    return limits.admit(principal, res as never);
  };
}

async function measure(name: string, decide: Decide, ops: number): Promise<Result> {
  for (let i = 0; i < Math.min(ops, 5_000); i++) await decide(`warm-${i % KEYS}`);
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < ops; i++) {
    const t0 = performance.now();
    await decide(`k-${i % KEYS}`);
    latencies.push(performance.now() - t0);
  }
  const meanUs = ((performance.now() - started) / ops) * 1000;
  latencies.sort((a, b) => a - b);
  let next = 0;
  const concurrentStart = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ops) await decide(`c-${next++ % KEYS}`);
    }),
  );
  const concurrentOpsPerSecond = ops / ((performance.now() - concurrentStart) / 1000);
  return {
    name,
    sequential: { meanUs, p50Us: percentile(latencies, 0.5) * 1000, p99Us: percentile(latencies, 0.99) * 1000 },
    concurrentOpsPerSecond,
  };
}

interface FlexibleResult {
  remainingPoints: number;
  msBeforeNext: number;
}
interface FlexibleLimiter {
  consume(key: string, points?: number): Promise<FlexibleResult>;
}

/** The library's consume plus the same four headers, so both columns pay the same HTTP work. */
function flexibleAdmitOf(limiter: FlexibleLimiter): Decide {
  const res = new http.ServerResponse(new http.IncomingMessage(new net.Socket()));
  return async (key: string) => {
    const result = await limiter.consume(key);
    res.setHeader('RateLimit-Limit', String(LIMIT));
    res.setHeader('RateLimit-Remaining', String(result.remainingPoints));
    res.setHeader('RateLimit-Reset', String(Math.ceil(result.msBeforeNext / 1000)));
    res.setHeader('RateLimit-Policy', `${LIMIT};w=60`);
  };
}
interface Flexible {
  RateLimiterMemory: new (options: object) => FlexibleLimiter;
  RateLimiterRedis: new (options: object) => FlexibleLimiter;
}

function loadFlexible(): Flexible | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('rate-limiter-flexible') as Flexible;
  } catch {
    return undefined;
  }
}

/** Limit of the boundary scenario: 60 per minute. */
const BOUNDARY_LIMIT = 60;

/**
 * What a client gets in 100 ms around the end of a minute: one request at 0 s (opening the
 * library's window), then BOUNDARY_LIMIT requests at 59.9 s and as many at 60.0 s. `decideAt`
 * answers whether a request at that offset (ms) is allowed.
 */
async function boundaryBurst(decideAt: (offsetMs: number) => Promise<boolean>): Promise<number> {
  await decideAt(0);
  let allowed = 0;
  for (const at of [59_900, 60_000]) {
    for (let i = 0; i < BOUNDARY_LIMIT; i++) if (await decideAt(at)) allowed++;
  }
  return allowed;
}

/** The library's memory limiter reads Date.now(): moved by hand here, restored after. */
async function flexibleBoundaryBurst(flexible: Flexible): Promise<number> {
  const realNow = Date.now;
  const base = realNow();
  let offset = 0;
  Date.now = () => base + offset;
  try {
    const limiter = new flexible.RateLimiterMemory({ points: BOUNDARY_LIMIT, duration: 60 });
    return await boundaryBurst(async (at) => {
      offset = at;
      return limiter.consume('boundary').then(
        () => true,
        () => false,
      );
    });
  } finally {
    Date.now = realNow;
  }
}

export async function benchRateLimits(): Promise<string[]> {
  const redisUrl = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `mf-bench-ratelimit-${process.pid}`;
  const results: Result[] = [];
  results.push(await measure('ModelForge token bucket, memory (LRU)', admitOf(new MemoryBucketStore()), MEMORY_OPS));
  const store = new RedisBucketStore(redisUrl, 1_000);
  await store.onModuleInit();
  const redisAdmit = admitOf(store);
  results.push(
    await measure('ModelForge token bucket, Redis (Lua, EVALSHA)', (k) => redisAdmit(`${prefix}:${k}`), REDIS_OPS),
  );
  await store.onModuleDestroy();
  const flexible = loadFlexible();
  const client = new Redis(redisUrl);
  try {
    if (flexible) {
      const memory = new flexible.RateLimiterMemory({ points: LIMIT, duration: 60 });
      results.push(
        await measure('rate-limiter-flexible 11.4.0, memory (fixed window)', flexibleAdmitOf(memory), MEMORY_OPS),
      );
      const redis = new flexible.RateLimiterRedis({
        storeClient: client,
        points: LIMIT,
        duration: 60,
        keyPrefix: prefix,
      });
      results.push(
        await measure('rate-limiter-flexible 11.4.0, Redis (fixed window, Lua)', flexibleAdmitOf(redis), REDIS_OPS),
      );
    }
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
  const bucket = new MemoryBucketStore();
  const base = Date.now();
  const bucketBurst = await boundaryBurst(
    async (at) => (await bucket.take('boundary', BOUNDARY_LIMIT, base + at)).allowed,
  );
  const flexibleBurst = flexible ? await flexibleBoundaryBurst(flexible) : undefined;
  const fmt = (v: number, digits: number) => v.toFixed(digits);
  return [
    '## Rate-limit decision cost (one admit, as the access guard pays it)\n',
    `${KEYS} credentials, limit high enough that nothing is refused; Redis at ${redisUrl.replace(/\/\/.*@/, '//')}.\n`,
    '| limiter | sequential mean µs | p50 / p99 µs | decisions/s at concurrency 16 |',
    '| --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.name} | ${fmt(r.sequential.meanUs, 2)} | ${fmt(r.sequential.p50Us, 2)} / ${fmt(r.sequential.p99Us, 2)} | ${fmt(r.concurrentOpsPerSecond, 0)} |`,
    ),
    ...(flexible
      ? []
      : ['\n(rate-limiter-flexible not installed: `npm install --no-save rate-limiter-flexible@11.4.0` to compare)']),
    '',
    `## Requests admitted within 100 ms at the end of a minute (limit ${BOUNDARY_LIMIT}/min)\n`,
    `1 request at 0 s, then ${BOUNDARY_LIMIT} at 59.9 s and ${BOUNDARY_LIMIT} at 60.0 s.\n`,
    '| limiter | admitted in those 100 ms |',
    '| --- | --- |',
    `| ModelForge token bucket (burst = limit, continuous refill) | ${bucketBurst} |`,
    ...(flexibleBurst === undefined ? [] : [`| rate-limiter-flexible 11.4.0 (fixed 60 s window) | ${flexibleBurst} |`]),
    '',
  ];
}

if (require.main === module) {
  benchRateLimits().then(
    (lines) => console.log(lines.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

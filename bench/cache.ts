/**
 * npm run bench:cache: what a prediction cache hit costs the server, measured in this one run.
 *
 * 1. The store alone, in this process: the two lookups of a hit on a repeated body (the entry
 *    under `raw:<sha256>`, then the model's generation), through
 *    - MemoryCacheStore (lru-cache),
 *    - RedisCacheStore as built today,
 *    - cache-manager 7.2.9 + Keyv 5.6.0 + @keyv/redis 5.1.6, built as the Redis store was before
 *      it moved to ioredis (measured when those packages are installed:
 *      `npm install --no-save cache-manager@7.2.9 keyv@5.6.0 @keyv/redis@5.1.6`),
 *    - two plain GETs on one ioredis client (the floor for any Redis store).
 *    Sequential hits give the latency; 16 concurrent loops give it under load. Rounds alternate the
 *    sides so drift of the shared machine hits all of them alike; each cell is the median round.
 * 2. Over HTTP: ModelForge from dist/ with the memory store and with REDIS_URL, the same MLP body
 *    repeated (every request a HIT), at concurrency 1 and 16; the server's own Server-Timing.
 *    BENCH_CACHE_BASELINE=/path/to/other/dist/src/main.js adds the cells of another build (an
 *    earlier commit built in its own folder), run between two runs of this build's.
 *
 * Environment: REDIS_TEST_URL (redis://127.0.0.1:6379), BENCH_CACHE_OPS (sequential hits per side
 * and round, 3000), BENCH_CACHE_ROUNDS (3), BENCH_DURATION_MS (per HTTP cell, 4000),
 * BENCH_CACHE_HTTP=off skips part 2. Called by run.ts; `node dist/bench/cache.js` runs it alone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { CacheStore } from '../src/cache/cache-store';
import { MemoryCacheStore } from '../src/cache/memory-cache-store';
import { RedisCacheStore } from '../src/cache/redis-cache-store';
import { withTimeout } from '../src/common/timeout';
import { freePort } from '../test/support/service-process';
import { percentile, runLoad } from './load';
import { AUTH_HEADER, startModelForge } from './processes';
import { fmt, row } from './targets';
import { DURATION_MS, MLP, fixedBody, upload } from './workload';

const OPS = Number(process.env.BENCH_CACHE_OPS ?? 3_000);
const ROUNDS = Number(process.env.BENCH_CACHE_ROUNDS ?? 3);
const CONCURRENCY = 16;
/** As CACHE_TIMEOUT_MS in the benchmark's ModelForge (the default). */
const TIMEOUT_MS = 100;
const TTL_MS = 10 * 60_000;
const MODEL = 'bench-cache-model';

/** The two lookups of a raw-body hit; resolves with whether both found what they should. */
type Hit = () => Promise<boolean>;

interface Side {
  name: string;
  hit: Hit;
  close(): Promise<void>;
}

interface Cell {
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

interface Measured {
  sequential: Cell;
  concurrent: Cell & { hitsPerSecond: number };
  misses: number;
}

/** A cached MLP prediction as the service stores it: 10 outputs, about 400 bytes of JSON. */
function entryJson(epoch: string): string {
  const outputs = JSON.stringify({ y: { dims: [1, 10], data: Array.from({ length: 10 }, (_, i) => Math.sin(i)) } });
  return JSON.stringify({
    model: MODEL,
    requestedVersion: null,
    epoch,
    sha256: 'a'.repeat(64),
    version: 1,
    outputs,
    inputHash: 'b'.repeat(64),
    expiresAt: Date.now() + TTL_MS,
  });
}

async function storeSide(name: string, store: CacheStore, rawKey: string): Promise<Side> {
  const epoch = await store.ensureEpoch(MODEL);
  if (!epoch) throw new Error(`${name}: no generation (is Redis up?)`);
  await store.set(rawKey, entryJson(epoch), TTL_MS);
  return {
    name,
    hit: async () => (await store.get(rawKey)) !== undefined && (await store.getEpoch(MODEL)) === epoch,
    close: () => store.close(),
  };
}

async function ioredisSide(url: string, rawKey: string): Promise<Side> {
  const client = new Redis(url, { maxRetriesPerRequest: 0, enableAutoPipelining: true });
  const prefix = `bench:cache:${process.pid}:`;
  await client.set(`${prefix}epoch`, 'e1');
  await client.set(`${prefix}${rawKey}`, entryJson('e1'), 'PX', TTL_MS);
  return {
    name: 'Redis: two GETs on one auto-pipelined ioredis 5.11.1 client, nothing around them',
    hit: async () => (await client.get(`${prefix}${rawKey}`)) !== null && (await client.get(`${prefix}epoch`)) === 'e1',
    async close() {
      await client.del(`${prefix}epoch`, `${prefix}${rawKey}`);
      client.disconnect();
    },
  };
}

interface PreviousStack {
  createCache(options: { stores: unknown[] }): {
    get<T>(key: string): Promise<T | undefined>;
    set<T>(key: string, value: T, ttl?: number): Promise<T>;
    del(key: string): Promise<boolean>;
    disconnect(): Promise<unknown>;
  };
  Keyv: new (options: object) => { on(event: string, listener: (error: Error) => void): unknown };
  KeyvRedis: new (
    options: object,
    keyvOptions: object,
  ) => { on(event: string, listener: (error: Error) => void): unknown };
}

function loadPreviousStack(): PreviousStack | undefined {
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const cacheManager = require('cache-manager') as Pick<PreviousStack, 'createCache'>;
    const keyvRedis = require('@keyv/redis') as { default: PreviousStack['KeyvRedis']; Keyv: PreviousStack['Keyv'] };
    /* eslint-enable @typescript-eslint/no-require-imports */
    return { createCache: cacheManager.createCache, Keyv: keyvRedis.Keyv, KeyvRedis: keyvRedis.default };
  } catch {
    return undefined;
  }
}

/**
 * The Redis store as it was until it moved to ioredis: the same client options, namespace and
 * per-operation timeout; a hit made the same two calls.
 */
async function previousStackSide(stack: PreviousStack, url: string, rawKey: string): Promise<Side> {
  const store = new stack.KeyvRedis(
    {
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 1_000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) },
    },
    { throwOnConnectError: false, throwOnErrors: true, namespace: 'modelforge:cache' },
  );
  store.on('error', () => undefined);
  const keyv = new stack.Keyv({ store, namespace: 'modelforge:cache', useKeyPrefix: false });
  keyv.on('error', () => undefined);
  const cache = stack.createCache({ stores: [keyv] });
  const timed = <T>(work: Promise<T>) => withTimeout(work, TIMEOUT_MS, () => new Error('timed out'));
  const epochKey = `bench:epoch:${process.pid}`;
  const key = `bench:${process.pid}:${rawKey}`;
  await cache.set(epochKey, 'e1');
  await cache.set(key, entryJson('e1'), TTL_MS);
  return {
    name: 'Redis: cache-manager 7.2.9 + Keyv 5.6.0 + @keyv/redis 5.1.6 (the store before ioredis)',
    hit: async () =>
      (await timed(cache.get<string>(key))) !== undefined && (await timed(cache.get<string>(epochKey))) === 'e1',
    async close() {
      await cache.del(key);
      await cache.del(epochKey);
      await cache.disconnect();
    },
  };
}

function cell(latencies: number[], elapsedMs?: number): Cell & { hitsPerSecond: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    p50Us: percentile(sorted, 0.5) * 1000,
    p99Us: percentile(sorted, 0.99) * 1000,
    meanUs: mean * 1000,
    hitsPerSecond: elapsedMs ? (sorted.length / elapsedMs) * 1000 : NaN,
  };
}

async function measure(side: Side): Promise<Measured> {
  let misses = 0;
  const timedHit = async (into: number[]) => {
    const t0 = performance.now();
    if (!(await side.hit())) misses++;
    into.push(performance.now() - t0);
  };
  for (let i = 0; i < Math.min(OPS, 500); i++) await side.hit(); // warm-up
  const sequential: number[] = [];
  for (let i = 0; i < OPS; i++) await timedHit(sequential);
  const concurrent: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (issued++ < OPS) await timedHit(concurrent);
    }),
  );
  const elapsed = performance.now() - started;
  return { sequential: cell(sequential), concurrent: cell(concurrent, elapsed), misses };
}

function median(results: Measured[]): Measured {
  const sorted = [...results].sort((a, b) => a.sequential.p50Us - b.sequential.p50Us);
  return sorted[Math.floor(sorted.length / 2)];
}

async function storeLines(redisUrl: string): Promise<string[]> {
  const rawKey = `raw:${'c'.repeat(64)}`;
  const sides: Side[] = [
    await storeSide('memory: MemoryCacheStore (lru-cache)', new MemoryCacheStore(64 * 2 ** 20), rawKey),
  ];
  const redisStore = new RedisCacheStore(redisUrl, TIMEOUT_MS);
  await redisStore.onModuleInit(); // connected
  sides.push(
    await storeSide(
      'Redis: RedisCacheStore (one ioredis client, timeouts, breaker)',
      redisStore,
      `${rawKey}:${process.pid}`,
    ),
  );
  const previous = loadPreviousStack();
  if (previous) sides.push(await previousStackSide(previous, redisUrl, rawKey));
  sides.push(await ioredisSide(redisUrl, rawKey));
  const results = new Map<string, Measured[]>(sides.map((side) => [side.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of sides) results.get(side.name)?.push(await measure(side));
    }
  } finally {
    await redisStore.dropEpoch(MODEL).catch(() => undefined);
    for (const side of sides) await side.close();
  }
  const us = (c: Cell) => `${fmt(c.p50Us, 0)} / ${fmt(c.p99Us, 0)}`;
  return [
    `## Prediction cache: the store's work for one hit (two lookups), in-process, median of ${ROUNDS} rounds`,
    '',
    `${OPS} sequential hits, then ${OPS} hits from ${CONCURRENCY} concurrent loops, per side and round; ` +
      'latency in microseconds. A wrong or missing answer counts in "misses".',
    '',
    row([
      'store',
      'sequential p50 / p99 µs',
      'mean µs',
      `c${CONCURRENCY} p50 / p99 µs`,
      `c${CONCURRENCY} hits/s`,
      'misses',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
    ...sides.map((side) => {
      const m = median(results.get(side.name) ?? []);
      return row([
        side.name,
        us(m.sequential),
        fmt(m.sequential.meanUs, 0),
        us(m.concurrent),
        fmt(m.concurrent.hitsPerSecond, 0),
        m.misses,
      ]);
    }),
    ...(previous
      ? []
      : [
          '',
          '(cache-manager, keyv and @keyv/redis are not installed: ' +
            '`npm install --no-save cache-manager@7.2.9 keyv@5.6.0 @keyv/redis@5.1.6` to compare)',
        ]),
  ];
}

/** Every request the same MLP body: after the first, each one is a HIT answered from the raw key. */
async function httpLines(redisUrl: string): Promise<string[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-cache-'));
  const rows: string[] = [];
  const body = fixedBody(MLP);
  try {
    const redisEnv = { REDIS_URL: redisUrl, JOBS_QUEUE_PREFIX: `bench-cache-${process.pid}` };
    const stores = [
      { store: 'in-memory LRU', env: {} },
      { store: 'Redis', env: redisEnv },
    ];
    const builds: { build: string; main?: string }[] = [{ build: 'this build' }];
    const baseline = process.env.BENCH_CACHE_BASELINE;
    // The baseline between two runs of this build, so drift of the machine shows.
    if (baseline) builds.push({ build: 'baseline build', main: baseline }, { build: 'this build again' });
    const servers = builds.flatMap(({ build, main }) =>
      stores.map(({ store, env }) => ({ store: `${store}, ${build}`, env, main })),
    );
    for (const [i, { store, env, main }] of servers.entries()) {
      // A free port now (fixed ones can be taken by another process's outgoing connection).
      const mf = await startModelForge(path.join(work, `data-${i}`), await freePort(), env, [], main);
      try {
        await upload(mf.baseUrl, MLP);
        const url = `${mf.baseUrl}/api/v1/predictions`;
        for (let tries = 0; tries < 50; tries++) {
          const probe = await runLoad({
            url,
            body,
            headers: AUTH_HEADER,
            concurrency: 1,
            totalRequests: 1,
            warmupMs: 0,
          });
          if (probe.cache.HIT) break;
        }
        for (const concurrency of [1, CONCURRENCY]) {
          const r = await runLoad({ url, body, headers: AUTH_HEADER, concurrency, durationMs: DURATION_MS });
          const sum = Object.values(r.stages).reduce((a, b) => a + b, 0);
          const seen = Object.entries(r.cache)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ');
          rows.push(
            row([
              store,
              concurrency,
              fmt(r.rps, 0),
              `${fmt(r.p50Ms, 2)} / ${fmt(r.p99Ms, 2)}`,
              fmt(r.stages.receive ?? NaN, 3),
              fmt(r.stages.cache ?? NaN, 3),
              fmt(sum, 3),
              seen,
              r.errors,
            ]),
          );
        }
      } finally {
        await mf.stop();
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return [
    '## Prediction cache hits over HTTP (MLP, the same body every time)',
    '',
    `Each cell: ${DURATION_MS} ms of closed-loop load. Server-Timing means: "receive" from the request's ` +
      'arrival to the lookup (body read and hashed), "cache" the lookup itself, "server" the sum of all stages.',
    '',
    row([
      'store',
      'conc.',
      'rps',
      'client p50 / p99 ms',
      'receive ms',
      'cache ms',
      'server ms',
      'X-Cache seen',
      'errors',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---', '---:']),
    ...rows,
  ];
}

export async function benchCacheStores(): Promise<string[]> {
  const redisUrl = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
  const lines = await storeLines(redisUrl);
  if (process.env.BENCH_CACHE_HTTP !== 'off') lines.push('', ...(await httpLines(redisUrl)));
  return lines;
}

if (require.main === module) {
  benchCacheStores().then(
    (lines) => console.log(lines.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

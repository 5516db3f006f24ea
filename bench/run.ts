/**
 * npm run bench: ModelForge against a hand-written Express server and direct in-process
 * session.run, and the Open Inference Protocol's paths against each other, all measured in this one
 * run on this machine. Prints markdown tables, then the targets with both sides of each
 * ratio and met / not met.
 *
 * Environment: BENCH_DURATION_MS (per cell, default 4000), BENCH_RSS_REQUESTS (default 50,000),
 * BENCH_BATCHING=off skips the batching rows (on by default: a refused PATCH fails the run),
 * BENCH_ONLY=throughput stops after the throughput, cache and memory tables; plus each part's own
 * (BENCH_IPC_*, BENCH_JOBS_*, BENCH_BODIES_*, BENCH_AUTH_*, BENCH_CACHE_*, BENCH_REPLICAS_*, BENCH_RELEASE_*).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchArtifacts } from './artifacts';
import { benchAuth } from './auth';
import { benchBodies } from './bodies';
import { benchCacheStores } from './cache';
import { benchIpc } from './ipc';
import { benchJobs, jobTargets } from './jobs';
import { benchOip } from './oip';
import { benchRateLimits } from './rate-limits';
import { benchRelease } from './release';
import { benchReplicas } from './replicas';
import { LoadResult, runLoad } from './load';
import { AUTH_HEADER, GcModelForge, scrapeSum, startModelForge, startModelForgeWithGc } from './processes';
import { Target, fmt, row, targetLines } from './targets';
import { Cell, breakdownLines, measureModel, throughputLines, throughputTargets } from './throughput';
import { CNN, DURATION_MS, MLP, NO_CACHE, distinctBodies, fixedBody, upload } from './workload';

const RSS_REQUESTS = Number(process.env.BENCH_RSS_REQUESTS ?? 50_000);
const ONLY_THROUGHPUT = process.env.BENCH_ONLY === 'throughput';

/** Cache hit and miss throughput for the CNN (already uploaded as `cnn`) on one ModelForge. */
async function benchCache(baseUrl: string, store: string): Promise<string[]> {
  const url = `${baseUrl}/api/v1/predictions`;
  const headers = AUTH_HEADER;
  const body = fixedBody(CNN);
  const miss = await runLoad({
    url,
    body: distinctBodies(CNN),
    headers,
    concurrency: 16,
    durationMs: DURATION_MS,
    warmupMs: 300,
  });
  // Store the entry, then wait until it is served from the cache (a Redis write may land after the answer).
  for (let tries = 0; tries < 50; tries++) {
    const probe = await runLoad({ url, body, headers, concurrency: 1, totalRequests: 1, warmupMs: 0 });
    if (probe.cache.HIT) break;
  }
  const hit = await runLoad({ url, body, headers, concurrency: 16, durationMs: DURATION_MS });
  const serverMs = (r: LoadResult) =>
    fmt(
      Object.values(r.stages).reduce((a, b) => a + b, 0),
      2,
    );
  const seen = (r: LoadResult) =>
    Object.entries(r.cache)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const cells = (label: string, r: LoadResult, ratio: string) =>
    row([store, label, fmt(r.rps, 0), `${fmt(r.p50Ms, 2)} / ${fmt(r.p99Ms, 2)}`, serverMs(r), seen(r), ratio]);
  return [cells('miss', miss, ''), cells('hit', hit, `${fmt(hit.rps / miss.rps, 1)}x`)];
}

/** RSS of the HTTP process after a forced GC before and after RSS_REQUESTS MLP predictions. */
async function benchMemory(mf: GcModelForge): Promise<{ lines: string[]; target: Target }> {
  const hostsBefore = await scrapeSum(mf.baseUrl, 'modelforge_inference_process_resident_memory_bytes');
  const before = await mf.rssAfterGc();
  const soak = await runLoad({
    url: `${mf.baseUrl}/api/v1/predictions`,
    body: fixedBody(MLP),
    headers: { ...AUTH_HEADER, ...NO_CACHE },
    concurrency: 16,
    totalRequests: RSS_REQUESTS,
    warmupMs: 0,
  });
  const after = await mf.rssAfterGc();
  const hostsAfter = await scrapeSum(mf.baseUrl, 'modelforge_inference_process_resident_memory_bytes');
  const growth = (after - before) / before;
  const mib = (n: number) => fmt(n / 2 ** 20, 1);
  return {
    lines: [
      '## ModelForge resident memory (MiB)',
      '',
      'RSS of the HTTP process after a forced full GC (--expose-gc, bench/gc-preload.js) at both ends of ' +
        `${RSS_REQUESTS} MLP predictions (no-cache, concurrency 16), after the throughput cells above. ` +
        'Inference processes: the sum of modelforge_inference_process_resident_memory_bytes (no forced GC; ' +
        '"-" when the metric is absent).',
      '',
      row(['load', 'RSS before', 'RSS after', 'growth', 'inference processes before / after', 'errors']),
      row(['---', '---:', '---:', '---:', '---:', '---:']),
      row([
        `${soak.requests} MLP predictions`,
        mib(before),
        mib(after),
        `${fmt(growth * 100, 1)}%`,
        `${mib(hostsBefore)} / ${mib(hostsAfter)}`,
        soak.errors,
      ]),
    ],
    target: {
      name: `RSS growth of the HTTP process over ${RSS_REQUESTS} MLP predictions (after GC)`,
      sides: `${mib(after)} vs ${mib(before)} MiB`,
      value: growth * 100,
      unit: '%',
      goal: '< 5%',
      met: growth < 0.05 && soak.errors === 0,
    },
  };
}

/** bench/survival.ts is written separately: run it when it is in this build. */
async function survivalLines(): Promise<{ lines: string[]; targets: Target[] }> {
  const file = path.join(__dirname, 'survival.js');
  if (!fs.existsSync(file))
    return { lines: ['## Survival', '', 'bench/survival.ts is not in this build.'], targets: [] };
  type Out = string | string[] | { lines: string[]; targets?: Target[] };
  const survival = (await import(file)) as { benchSurvival(): Promise<Out> };
  const out = await survival.benchSurvival();
  if (typeof out === 'string') return { lines: [out], targets: [] };
  if (Array.isArray(out)) return { lines: out, targets: [] };
  return { lines: out.lines, targets: out.targets ?? [] };
}

async function main(): Promise<void> {
  const started = performance.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-'));
  const cores = os.availableParallelism();
  console.log(`# ModelForge benchmark (${os.cpus()[0]?.model ?? 'cpu'}, ${cores} cores, Node ${process.version})\n`);

  const cells: Cell[] = [];
  const loopSources = new Set<string>();
  const cacheRows: string[] = [];
  let memory: Awaited<ReturnType<typeof benchMemory>>;
  const mf = await startModelForgeWithGc(path.join(work, 'data'), 39100);
  try {
    for (const model of [MLP, CNN]) await upload(mf.baseUrl, model);
    for (const model of [MLP, CNN]) await measureModel(mf, model, work, cells, loopSources);
    cacheRows.push(...(await benchCache(mf.baseUrl, 'in-memory LRU')));
    memory = await benchMemory(mf);
  } finally {
    await mf.stop();
  }
  const oip = await benchOip(path.join(work, 'data-oip'));
  const redisUrl = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
  const withRedis = await startModelForge(path.join(work, 'data-redis'), 39102, { REDIS_URL: redisUrl });
  try {
    await upload(withRedis.baseUrl, CNN);
    cacheRows.push(...(await benchCache(withRedis.baseUrl, 'Redis')));
  } finally {
    await withRedis.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const targets = [...throughputTargets(cells), memory.target, ...oip.targets];

  const sections: string[][] = [
    throughputLines(cells, loopSources),
    breakdownLines(cells),
    [
      '## Prediction cache, CNN at concurrency 16 (every miss has distinct inputs)',
      '',
      row([
        'store',
        'path',
        'rps',
        'client p50 / p99 ms',
        'server ms (Server-Timing sum)',
        'X-Cache seen',
        'hit/miss rps',
      ]),
      row(Array(7).fill('---')),
      ...cacheRows,
    ],
    memory.lines,
    oip.lines,
  ];
  for (const section of sections) console.log(`${section.join('\n')}\n`);
  if (!ONLY_THROUGHPUT) {
    const jobs = await benchJobs();
    console.log(`${jobs.lines.join('\n')}\n`);
    targets.push(...jobTargets(jobs.rows));
    const survival = await survivalLines();
    console.log(`${survival.lines.join('\n')}\n`);
    targets.push(...survival.targets);
    console.log(`${(await benchIpc()).join('\n')}\n`);
    console.log(`${(await benchBodies()).join('\n')}\n`);
    console.log(`${(await benchRateLimits()).join('\n')}\n`);
    console.log(`${(await benchCacheStores()).join('\n')}\n`);
    console.log(`${await benchAuth()}\n`);
    console.log(`${(await benchReplicas()).join('\n')}\n`);
    console.log(`${(await benchArtifacts()).join('\n')}\n`);
    const release = await benchRelease();
    console.log(`${release.lines.join('\n')}\n`);
    targets.push(...release.targets);
  }
  console.log(targetLines(targets).join('\n'));
  console.log(`\nWhole run: ${fmt((performance.now() - started) / 1000, 0)} s.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

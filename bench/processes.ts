import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { histogramQuantile } from '../test/support/metrics-text';

export const ROOT = path.resolve(__dirname, '../..');

/** ADMIN_API_KEY of every ModelForge the benchmarks start (admin credentials are not rate limited). */
export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';
export const AUTH_HEADER = { Authorization: `Bearer ${BENCH_ADMIN_KEY}` };

export interface Spawned {
  child: ChildProcess;
  baseUrl: string;
  stop(): Promise<void>;
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not come up in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function spawnNode(
  script: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  nodeArgs: string[] = [],
): Spawned {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * ModelForge as users run it: the built dist/src/main.js in production mode, with BENCH_ADMIN_KEY.
 * `nodeArgs` go before the script (`--expose-gc`, `-r preload.js`); `main` may be another build's.
 */
export async function startModelForge(
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  main = path.join(ROOT, 'dist/src/main.js'),
): Promise<Spawned> {
  const service = spawnNode(
    main,
    [],
    {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_API_KEY: BENCH_ADMIN_KEY,
      // No gRPC server unless a benchmark gives it a port: several services run at once.
      GRPC_PORT: '0',
      ...env,
    },
    port,
    nodeArgs,
  );
  await waitFor(async () => (await fetch(`${service.baseUrl}/health/ready`)).status === 200, 'ModelForge');
  return service;
}

export async function startExpressBaseline(modelPath: string, port: number): Promise<Spawned> {
  const server = spawnNode(path.join(ROOT, 'dist/bench/express-baseline.js'), [modelPath, String(port)], {}, port);
  await waitFor(async () => (await fetch(`${server.baseUrl}/stats`)).status === 200, 'Express baseline');
  return server;
}

interface Sample {
  name: string;
  labels: string;
  value: number;
}

/** Every sample of a Prometheus text exposition (`labels` is the raw `{...}` text, '' without). */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const brace = line.indexOf('{');
    const hasLabels = brace >= 0 && brace < space;
    samples.push({
      name: line.slice(0, hasLabels ? brace : space),
      labels: hasLabels ? line.slice(brace, line.lastIndexOf('}') + 1) : '',
      value: Number(line.slice(space + 1)),
    });
  }
  return samples;
}

async function scrape(baseUrl: string): Promise<Sample[]> {
  return parseSamples(await (await fetch(`${baseUrl}/metrics`, { headers: AUTH_HEADER })).text());
}

/** Reads one Prometheus sample value (`name` or `name{labels}` exactly as exposed) from ModelForge's /metrics. */
export async function scrapeMetric(baseUrl: string, sample: string): Promise<number> {
  const found = (await scrape(baseUrl)).find((s) => `${s.name}${s.labels}` === sample);
  return found ? found.value : NaN;
}

/** The sum over every series of one metric (NaN when absent): RSS of all inference processes, say. */
export async function scrapeSum(baseUrl: string, name: string): Promise<number> {
  const found = (await scrape(baseUrl)).filter((s) => s.name === name);
  return found.length > 0 ? found.reduce((sum, s) => sum + s.value, 0) : NaN;
}

/** Cumulative histogram buckets summed over every series of `name`, by upper bound, plus _sum and _count. */
interface Histogram {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

function histogramOf(samples: Sample[], name: string): Histogram | undefined {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  let seen = false;
  for (const s of samples) {
    if (s.name === `${name}_bucket`) {
      const le = /le="([^"]*)"/.exec(s.labels)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + s.value);
      seen = true;
    } else if (s.name === `${name}_sum`) sum += s.value;
    else if (s.name === `${name}_count`) count += s.value;
  }
  return seen ? { buckets: new Map([...buckets].sort(([a], [b]) => a - b)), sum, count } : undefined;
}

/** A window over ModelForge's /metrics: `start()` before the load, `stop()` after it. */
export interface MetricsWindow {
  /** Event-loop delay p99 of the HTTP process over the window (seconds), and which metric gave it. */
  loopDelayP99: { seconds: number; source: string };
  /** Mean size of the inference batches run during the window (NaN when the metric is absent or nothing ran). */
  meanBatchSize: number;
}

/** The sampling period of the monitorEventLoopDelay histograms: they record whole periods, not the delay alone. */
const LOOP_RESOLUTION_S = 0.01;
const LAG_P99 = 'modelforge_nodejs_eventloop_lag_p99_seconds';
const LOOP_HISTOGRAM = 'modelforge_event_loop_delay_seconds';
const LOOP_QUANTILE = `${LOOP_HISTOGRAM}{quantile="0.99"}`;
const BATCH_SIZE = 'modelforge_inference_batch_size';

/**
 * Reads what happened between two scrapes, tolerant of the metric names the service has had:
 * prom-client's `modelforge_nodejs_eventloop_lag_p99_seconds` (reset by each scrape) when present,
 * else the cumulative histogram `modelforge_event_loop_delay_seconds` (the p99 of its increase),
 * else the older gauge `modelforge_event_loop_delay_seconds{quantile="0.99"}` (reset by each scrape).
 */
export async function metricsWindow(baseUrl: string): Promise<{ stop(): Promise<MetricsWindow> }> {
  const before = await scrape(baseUrl);
  return {
    async stop() {
      const after = await scrape(baseUrl);
      const value = (name: string) => after.find((s) => `${s.name}${s.labels}` === name)?.value;
      let loopDelayP99 = { seconds: NaN, source: 'none' };
      const lag = value(LAG_P99);
      const histogramBefore = histogramOf(before, LOOP_HISTOGRAM);
      const histogramAfter = histogramOf(after, LOOP_HISTOGRAM);
      if (lag !== undefined) loopDelayP99 = { seconds: Math.max(0, lag - LOOP_RESOLUTION_S), source: LAG_P99 };
      else if (histogramAfter) {
        const increase = new Map(
          [...histogramAfter.buckets].map(([bound, n]) => [bound, n - (histogramBefore?.buckets.get(bound) ?? 0)]),
        );
        loopDelayP99 = { seconds: histogramQuantile(0.99, increase), source: `${LOOP_HISTOGRAM} (histogram)` };
      } else if (value(LOOP_QUANTILE) !== undefined) {
        loopDelayP99 = { seconds: value(LOOP_QUANTILE) ?? NaN, source: LOOP_QUANTILE };
      }
      const batchesBefore = histogramOf(before, BATCH_SIZE);
      const batchesAfter = histogramOf(after, BATCH_SIZE);
      const batches = (batchesAfter?.count ?? NaN) - (batchesBefore?.count ?? 0);
      const members = (batchesAfter?.sum ?? NaN) - (batchesBefore?.sum ?? 0);
      return { loopDelayP99, meanBatchSize: batches > 0 ? members / batches : NaN };
    },
  };
}

/** A ModelForge started with --expose-gc and bench/gc-preload.js: its RSS after a full GC, on demand. */
export interface GcModelForge extends Spawned {
  rssAfterGc(): Promise<number>;
}

export async function startModelForgeWithGc(
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
): Promise<GcModelForge> {
  const rssFile = path.join(dataDir, '..', `rss-${port}.txt`);
  const service = await startModelForge(dataDir, port, { ...env, BENCH_GC_RSS_FILE: rssFile }, [
    '--expose-gc',
    '-r',
    path.join(ROOT, 'dist/bench/gc-preload.js'),
  ]);
  let sequence = 0;
  return {
    ...service,
    async rssAfterGc() {
      service.child.kill('SIGUSR2');
      sequence++;
      let rss = NaN;
      await waitFor(
        () => {
          const [seen, bytes] = fs.readFileSync(rssFile, 'utf8').trim().split(' ').map(Number);
          rss = bytes;
          return seen >= sequence;
        },
        'RSS after GC',
        30_000,
      );
      return rss;
    },
  };
}

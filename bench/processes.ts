import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { histogramBuckets, sampleValue } from '../test/support/metrics-text';

export const ROOT = path.resolve(__dirname, '../..');

/** ADMIN_API_KEY of every ModelForge the benchmarks start (admin credentials are not rate limited). */
export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';
export const AUTH_HEADER = { Authorization: `Bearer ${BENCH_ADMIN_KEY}` };

export interface Spawned {
  child: ChildProcess;
  baseUrl: string;
  stop(): Promise<void>;
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
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

export function spawnNode(script: string, args: string[], env: Record<string, string>, port: number): Spawned {
  const child = spawn(process.execPath, [script, ...args], {
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

/** ModelForge as users run it: the built dist/src/main.js in production mode, with BENCH_ADMIN_KEY. */
export async function startModelForge(
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
): Promise<Spawned> {
  const service = spawnNode(
    path.join(ROOT, 'dist/src/main.js'),
    [],
    {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_API_KEY: BENCH_ADMIN_KEY,
      ...env,
    },
    port,
  );
  await waitFor(async () => (await fetch(`${service.baseUrl}/health/ready`)).status === 200, 'ModelForge');
  return service;
}

export async function startExpressBaseline(modelPath: string, port: number): Promise<Spawned> {
  const server = spawnNode(path.join(ROOT, 'dist/bench/express-baseline.js'), [modelPath, String(port)], {}, port);
  await waitFor(async () => (await fetch(`${server.baseUrl}/stats`)).status === 200, 'Express baseline');
  return server;
}

async function scrape(baseUrl: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`, { headers: AUTH_HEADER })).text();
}

/** Reads one Prometheus sample value from ModelForge's /metrics. */
export async function scrapeMetric(baseUrl: string, sample: string): Promise<number> {
  return sampleValue(await scrape(baseUrl), sample) ?? NaN;
}

/** The cumulative buckets of a histogram without labels in ModelForge's /metrics. */
export async function scrapeHistogram(baseUrl: string, name: string): Promise<Map<number, number>> {
  return histogramBuckets(await scrape(baseUrl), name);
}

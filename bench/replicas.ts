/**
 * npm run bench:replicas: ModelForge as several replicas sharing PostgreSQL and Redis, measured in
 * this one run on this machine.
 *
 * 1. How long a delete on replica A takes to reach replica B (Redis pub/sub of `model.changed`),
 *    on one database, one Redis and one artifact directory. Each round uploads a new version on A,
 *    runs it on B (its session loaded there), deletes it on A and times until B has seen it,
 *    counted from the DELETE being sent and from A's 204: with two applications in this process,
 *    until B's listener runs; with two API processes (those of part 2), until B's readiness shows
 *    one loaded version fewer (polled back to back).
 * 2. Throughput of 1 and of 2 API processes (dist/src/main.js, APP_ROLE=api) behind the same
 *    round-robin proxy (test/support/round-robin-proxy.ts, in this process) under the same closed-loop
 *    load, plus one process without the proxy (what the proxy costs). The CPU time the HTTP process
 *    and its inference processes use per request, read from /proc, gives where one replica saturates.
 *
 * Needs PostgreSQL (TEST_DATABASE_URL, as the tests) and Redis (REDIS_TEST_URL). Environment:
 * BENCH_REPLICAS_DELETES (rounds of part 1, 30), BENCH_DURATION_MS (per throughput cell, 4000),
 * BENCH_REPLICAS_CONCURRENCY (16). Called by run.ts; `node dist/bench/replicas.js` runs it alone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { MODEL_CHANGED, ModelChangedEvent } from '../src/models/model-events';
import { mlpModel } from '../test/support/onnx-models';
import { createPostgresDatabase } from '../test/support/postgres';
import { twoReplicas } from '../test/support/prediction-cache-helpers';
import { dropRedisKeys } from '../test/support/redis-server';
import { RoundRobinProxy } from '../test/support/round-robin-proxy';
import { freePort } from '../test/support/service-process';
import { authed } from '../test/support/test-app';
import { LoadResult, percentile, runLoad } from './load';
import { AUTH_HEADER, Spawned, startModelForge } from './processes';
import { fmt, row } from './targets';
import { BenchModel, CNN, DURATION_MS, MLP, NO_CACHE, fixedBody, upload } from './workload';

const DELETES = Number(process.env.BENCH_REPLICAS_DELETES ?? 30);
const CONCURRENCY = Number(process.env.BENCH_REPLICAS_CONCURRENCY ?? 16);
const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
const CLK_TCK = 100;

/** Milliseconds from sending a delete to A until B saw it, and from A's 204 until then. */
interface Seen {
  fromSent: number[];
  fromAnswer: number[];
}

/** Part 1, in this process: until B's `model.changed` listener runs. */
async function deleteLatencyInProcess(): Promise<Seen> {
  const prefix = `mf-bench-replicas-${process.pid}`;
  const [a, b] = await twoReplicas({ REDIS_URL, JOBS_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
  const heard = new Map<string, number>();
  b.app.get(EventEmitter2).on(MODEL_CHANGED, (event: ModelChangedEvent) => {
    if (event.fromReplica && event.kind === 'version-deleted') heard.set(event.model, performance.now());
  });
  const seen: Seen = { fromSent: [], fromAnswer: [] };
  try {
    for (let round = 0; round < DELETES; round++) {
      const name = `bench-delete-${round}`;
      await authed(a).post('/api/v1/models').send({ name }).expect(201);
      // A distinct model per round: its sha256 is new, so B really loads (and unloads) a session.
      const bytes = mlpModel({ seed: 1000 + round });
      await authed(a).post(`/api/v1/models/${name}/versions`).attach('file', bytes, 'model.onnx').expect(201);
      await authed(b)
        .post('/api/v1/predictions')
        .send({ model: name, inputs: { x: [[1, 2, 3, 4]] } })
        .expect(200);
      const sent = performance.now();
      await authed(a).delete(`/api/v1/models/${name}/versions/1`).expect(204);
      const answered = performance.now();
      while (!heard.has(name)) await new Promise((resolve) => setImmediate(resolve));
      const at = heard.get(name) as number;
      seen.fromSent.push(at - sent);
      seen.fromAnswer.push(at - answered);
    }
  } finally {
    await b.close();
    await a.close();
    await dropRedisKeys(prefix, REDIS_URL);
  }
  return seen;
}

/** The number of model files B's engine holds now, from its readiness details. */
async function loadedVersions(b: Spawned): Promise<number> {
  const res = await fetch(`${b.baseUrl}/health/ready`);
  const body = (await res.json()) as { details: { inference: { loadedVersions: number } } };
  return body.details.inference.loadedVersions;
}

async function call(url: string, init: RequestInit, status: number): Promise<void> {
  const res = await fetch(url, { ...init, headers: { ...AUTH_HEADER, ...init.headers } });
  const text = await res.text();
  if (res.status !== status) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
}

/**
 * Part 1 across two API processes: until B's readiness shows one loaded version fewer, polled
 * back to back while the DELETE runs (each poll a few ms: the resolution of this row).
 */
async function deleteLatencyAcrossProcesses(a: Spawned, b: Spawned): Promise<Seen> {
  const seen: Seen = { fromSent: [], fromAnswer: [] };
  for (let round = 0; round < DELETES; round++) {
    const name = `bench-delete-proc-${round}`;
    const json = { 'Content-Type': 'application/json' };
    await call(`${a.baseUrl}/api/v1/models`, { method: 'POST', headers: json, body: JSON.stringify({ name }) }, 201);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(mlpModel({ seed: 2000 + round }))]), 'model.onnx');
    await call(`${a.baseUrl}/api/v1/models/${name}/versions`, { method: 'POST', body: form }, 201);
    const body = JSON.stringify({ model: name, inputs: { x: [[1, 2, 3, 4]] } });
    await call(`${b.baseUrl}/api/v1/predictions`, { method: 'POST', headers: json, body }, 200);
    const loaded = await loadedVersions(b);
    const sent = performance.now();
    let answered = NaN;
    const deleted = call(`${a.baseUrl}/api/v1/models/${name}/versions/1`, { method: 'DELETE' }, 204).then(
      () => (answered = performance.now()),
    );
    while ((await loadedVersions(b)) >= loaded);
    const at = performance.now();
    await deleted;
    seen.fromSent.push(at - sent);
    seen.fromAnswer.push(at - answered);
  }
  return seen;
}

function latencyLines(inProcess: Seen, processes: Seen): string[] {
  const cells = (values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    return [fmt(percentile(sorted, 0.5), 2), fmt(sorted[sorted.length - 1], 2)];
  };
  return [
    `## A delete on one replica, seen by another (Redis pub/sub of model.changed, ${DELETES} deletes each)`,
    '',
    row(['replicas', 'B has seen it when', 'measured from', 'p50 ms', 'max ms']),
    row(['---', '---', '---', '---:', '---:']),
    row(['2 apps in this process', 'its listener runs', 'DELETE sent to A', ...cells(inProcess.fromSent)]),
    row(['', '', "A's 204 (negative: B first)", ...cells(inProcess.fromAnswer)]),
    row([
      '2 API processes',
      'its readiness shows the session unloaded',
      'DELETE sent to A',
      ...cells(processes.fromSent),
    ]),
    row(['', '', "A's 204 (negative: B first)", ...cells(processes.fromAnswer)]),
    '',
    'Target (issue 14): every replica sees a delete within 100 ms.',
  ];
}

/** utime + stime of a process in seconds (0 once it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** The process's children (its inference processes), found by their parent pid in /proc. */
function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

interface CpuSplit {
  http: number;
  inference: number;
}

function cpuOf(service: Spawned): CpuSplit {
  const pid = service.child.pid as number;
  return { http: cpuSeconds(pid), inference: childrenOf(pid).reduce((sum, child) => sum + cpuSeconds(child), 0) };
}

interface Cell {
  model: string;
  setup: string;
  result: LoadResult;
  /** CPU ms per request of the first API process: its HTTP process and its inference processes. */
  perRequest?: CpuSplit;
}

async function measure(url: string, model: BenchModel, watch?: Spawned): Promise<Omit<Cell, 'model' | 'setup'>> {
  const body = fixedBody(model);
  const load = {
    url: `${url}/api/v1/predictions`,
    body,
    headers: { ...AUTH_HEADER, ...NO_CACHE },
    concurrency: CONCURRENCY,
  };
  await runLoad({ ...load, totalRequests: 200, warmupMs: 0 });
  const before = watch && cpuOf(watch);
  const result = await runLoad({ ...load, durationMs: DURATION_MS, warmupMs: 300 });
  if (!watch || !before) return { result };
  const after = cpuOf(watch);
  // The warm-up's requests are not counted in result.requests; its CPU time is, by at most 300 ms.
  return {
    result,
    perRequest: {
      http: ((after.http - before.http) * 1000) / result.requests,
      inference: ((after.inference - before.inference) * 1000) / result.requests,
    },
  };
}

/** Part 2: 1 and 2 API processes behind one proxy, and 1 without it. */
async function throughput(): Promise<{ lines: string[]; cells: Cell[]; processes: Seen }> {
  const database = await createPostgresDatabase();
  const prefix = `mf-bench-scale-${process.pid}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-replicas-'));
  const env = { APP_ROLE: 'api', DATABASE_URL: database.url, REDIS_URL, JOBS_QUEUE_PREFIX: prefix };
  const started: Spawned[] = [];
  const proxies: RoundRobinProxy[] = [];
  const cells: Cell[] = [];
  const processes: Seen = { fromSent: [], fromAnswer: [] };
  try {
    const first = await startModelForge(dataDir, await freePort(), env);
    started.push(first);
    const second = await startModelForge(dataDir, await freePort(), { ...env, DATABASE_MIGRATIONS_RUN: 'false' });
    started.push(second);
    for (const model of [MLP, CNN]) await upload(first.baseUrl, model);
    const one = await RoundRobinProxy.start([first.baseUrl]);
    const two = await RoundRobinProxy.start([first.baseUrl, second.baseUrl]);
    proxies.push(one, two);
    while (!two.inRotation(second.baseUrl) || !one.inRotation(first.baseUrl)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    Object.assign(processes, await deleteLatencyAcrossProcesses(first, second));
    for (const model of [MLP, CNN]) {
      cells.push({ model: model.name, setup: '1 process, direct', ...(await measure(first.baseUrl, model, first)) });
      cells.push({ model: model.name, setup: '1 process, proxy', ...(await measure(one.url, model, first)) });
      cells.push({ model: model.name, setup: '2 processes, proxy', ...(await measure(two.url, model, first)) });
    }
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all(started.map((s) => s.stop()));
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await dropRedisKeys(prefix, REDIS_URL);
  }
  const cores = os.cpus().length;
  const lines = [
    `## Throughput of 1 and 2 API processes (${cores} cores, concurrency ${CONCURRENCY}, cache bypassed)`,
    '',
    row(['model', 'setup', 'rps', 'p50 / p99 ms', 'errors', 'CPU ms/req: HTTP process', 'inference processes']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:']),
    ...cells.map((c) =>
      row([
        c.model,
        c.setup,
        fmt(c.result.rps, 0),
        `${fmt(c.result.p50Ms, 2)} / ${fmt(c.result.p99Ms, 2)}`,
        c.result.errors,
        c.setup.startsWith('1') ? fmt(c.perRequest?.http ?? NaN, 3) : '-',
        c.setup.startsWith('1') ? fmt(c.perRequest?.inference ?? NaN, 3) : '-',
      ]),
    ),
    '',
    ...saturation(cells, cores),
  ];
  return { lines, cells, processes };
}

/**
 * Where one replica saturates: its HTTP process is one thread (ceiling 1000 / HTTP CPU ms per
 * request), its inference processes share the cores (ceiling cores * 1000 / inference CPU ms).
 */
function saturation(cells: Cell[], cores: number): string[] {
  const lines = ["Where one replica saturates (from the direct cells' CPU time per request):", ''];
  for (const cell of cells.filter((c) => c.setup === '1 process, direct' && c.perRequest)) {
    const { http, inference } = cell.perRequest as CpuSplit;
    const httpCeiling = 1000 / http;
    const inferenceCeiling = (cores * 1000) / inference;
    lines.push(
      `- ${cell.model}: HTTP thread ceiling ${fmt(httpCeiling, 0)} rps, inference ceiling ${fmt(inferenceCeiling, 0)} rps ` +
        `on ${cores} cores (${fmt((1000 * cores) / (http + inference), 0)} rps if both share the cores); measured ${fmt(cell.result.rps, 0)} rps.`,
    );
  }
  return lines;
}

export async function benchReplicas(): Promise<string[]> {
  const inProcess = await deleteLatencyInProcess();
  const { lines, processes } = await throughput();
  return [...latencyLines(inProcess, processes), '', ...lines];
}

if (require.main === module) {
  benchReplicas().then(
    (lines) => console.log(lines.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * The HTTP fuzzer: starts the real application on a database engine, seeds a model with a ready
 * version, reads /docs-json and sends seeded, generated requests to every operation in it over
 * real sockets. Every answer is checked (response-check.ts); after the run the service must still
 * be alive, ready and working, with nothing written outside DATA_DIR.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { mlpModel } from '../support/onnx-models';
import type { Engine } from '../support/postgres';
import { seedVersion } from '../support/seed';
import { listFiles, startTestApp, TestApp } from '../support/test-app';
import { BodyLimits } from './body-cases';
import { describeCase, FuzzCase } from './fuzz-case';
import { operationsOf } from './openapi-operations';
import { caseFor, unknownRouteCase } from './request-cases';
import { checkOutcome, Violation } from './response-check';
import { FuzzWorld } from './schema-values';
import { send, WireOutcome } from './wire';

/** Small limits, so requests just past each one stay cheap. */
export const FUZZ_LIMITS: BodyLimits = {
  json: 256 * 1024,
  registry: 64 * 1024,
  model: 64 * 1024,
  jobInstances: 50,
};

const FUZZ_ENV: Record<string, string> = {
  MAX_JSON_BODY_BYTES: String(FUZZ_LIMITS.json),
  MAX_REGISTRY_BODY_BYTES: String(FUZZ_LIMITS.registry),
  MAX_MODEL_BYTES: String(FUZZ_LIMITS.model),
  JOBS_MAX_INSTANCES: String(FUZZ_LIMITS.jobInstances),
  MAX_TENSOR_ELEMENTS: '100000',
  MIN_FREE_DISK_BYTES: '0',
  INFERENCE_WORKERS: '1',
  INFERENCE_INTRA_OP_THREADS: '1',
};

const SEED_MODEL = 'fuzz-seed';
const DISPOSABLE_MODELS = ['fuzz-a', 'fuzz-b', 'fuzz-c'];
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

export interface FuzzOptions {
  engine: Engine;
  seed: number;
  requests: number;
  /** Send only the case with this index of the seeded run (from a finding's replay line). */
  replay?: number;
  /** Requests on the wire at once (default 4; 1 when replaying). */
  concurrency?: number;
  /** Longest wait for one answer before it counts as a stall. */
  timeoutMs?: number;
  /** Called after every request with the count so far. */
  progress?: (sent: number) => void;
}

export interface Finding {
  rule: Violation['rule'];
  index: number;
  operationId: string;
  mutation: string;
  status?: number;
  detail: string;
  /** The error the service logged for the request, when it logged one. */
  serverError?: string;
  request: string;
}

export interface DistinctFinding extends Finding {
  count: number;
  /** Every operation where it was seen. */
  operations: string[];
}

export interface FuzzReport {
  engine: Engine;
  seed: number;
  requests: number;
  byStatus: Record<string, number>;
  /** Every operationId of /docs-json. */
  documented: string[];
  byOperation: Record<string, number>;
  serverErrors: number;
  /** Requests that broke a rule (a request can break several). */
  findings: number;
  /** Findings grouped by rule, operation, status and cause, each with its first example. */
  distinct: DistinctFinding[];
  /** What the checks after the run found wrong (readiness, registry, stray files, crashes). */
  afterRun: string[];
  durationMs: number;
  slowestMs: number;
  rssBeforeBytes: number;
  /** RSS once a tenth of the requests (at most 1,000) are answered: heaps and caches have grown to size. */
  rssWarmBytes: number;
  rssAfterBytes: number;
  /** RSS after every 1,000 requests, to tell a leak from a one-time growth. */
  rssSamples: Array<[requests: number, bytes: number]>;
}

/** Error log lines of the service, by request id, so a 5xx names its cause. */
class ErrorLog extends Writable {
  readonly byRequest = new Map<string, string>();
  readonly recent: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as { requestId?: string; msg?: string; err?: { message?: string } };
        const text = [entry.msg, entry.err?.message].filter(Boolean).join(': ');
        // The error itself wins over the access-log line that follows it.
        if (entry.requestId && (entry.err || !this.byRequest.has(entry.requestId))) {
          this.byRequest.set(entry.requestId, text);
        }
        this.recent.push(text);
        if (this.recent.length > 50) this.recent.shift();
      } catch {
        this.recent.push(line.slice(0, 300));
      }
    }
    callback();
  }
}

/**
 * onnxruntime-node 1.30's native library writes `.ses` and an empty `mat-debug-<pid>.log` into
 * TMPDIR when it creates a session, whatever the input. Not something a request can steer.
 */
function isOnnxRuntimeFile(name: string): boolean {
  return name === '.ses' || /^mat-debug-\d+\.log$/.test(name);
}

/** Files (path, size, mtime) below `dir`, skipping the given top-level names. */
function snapshot(dir: string, skip: string[]): Map<string, string> {
  const result = new Map<string, string>();
  const walk = (current: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const rel = path.relative(dir, full);
      if (skip.some((s) => rel === s || rel.startsWith(`${s}${path.sep}`))) continue;
      if (entry.isDirectory()) walk(full);
      else {
        const stat = fs.lstatSync(full);
        result.set(rel, `${stat.size}:${stat.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return result;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [file, stamp] of after) if (before.get(file) !== stamp) changed.push(file);
  for (const file of before.keys()) if (!after.has(file)) changed.push(`${file} (removed)`);
  return changed;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  deadlineMs = 15_000,
): Promise<string | undefined> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return undefined;
    if (Date.now() > deadline) return `${what} (waited ${deadlineMs} ms)`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function rss(): number {
  global.gc?.();
  return process.memoryUsage().rss;
}

/** Ids the service handed out, so generated requests can address real jobs and log entries. */
class IdPools {
  readonly job: string[] = [];
  readonly prediction: string[] = [];

  resolve(c: FuzzCase): string {
    const pathText = c.path
      .map((part) => {
        if (typeof part === 'string') return part;
        const pool = this[part.ref];
        return pool.length === 0 ? NO_SUCH_ID : pool[part.pick % pool.length];
      })
      .join('');
    return c.query ? `${pathText}?${c.query}` : pathText;
  }

  harvest(c: FuzzCase, outcome: WireOutcome): void {
    if (outcome.kind !== 'response' || outcome.response.status >= 300) return;
    const kind =
      c.operationId === 'createJob' || c.operationId === 'listJobs'
        ? 'job'
        : c.operationId === 'listPredictions'
          ? 'prediction'
          : undefined;
    if (!kind) return;
    try {
      const body = JSON.parse(outcome.response.body.toString('utf8')) as {
        id?: unknown;
        items?: Array<{ id?: unknown }>;
      };
      const ids = [body.id, ...(body.items ?? []).map((i) => i.id)].filter(
        (id): id is string => typeof id === 'string',
      );
      for (const id of ids) if (!this[kind].includes(id) && this[kind].length < 200) this[kind].push(id);
    } catch {
      // not JSON: nothing to learn
    }
  }
}

function normalize(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<uuid>')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

/** Groups findings as they come, keeping the first example of each: memory stays flat. */
class FindingGroups {
  private readonly groups = new Map<string, DistinctFinding>();

  add(f: Finding): void {
    // A malformed error body is usually made by one layer for every route: group it by what is wrong.
    const where = f.rule === 'error-body' ? '' : f.operationId;
    const key = [f.rule, where, f.status, normalize(f.serverError ?? f.detail)].join('|');
    const group = this.groups.get(key);
    if (!group) this.groups.set(key, { ...f, count: 1, operations: [f.operationId] });
    else {
      group.count++;
      if (!group.operations.includes(f.operationId)) group.operations.push(f.operationId);
    }
  }

  list(): DistinctFinding[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count);
  }
}

async function http(
  t: TestApp,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${t.baseUrl}${route}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed };
}

async function seedService(t: TestApp, pools: IdPools): Promise<void> {
  const created = await http(t, 'POST', '/api/v1/models', { name: SEED_MODEL, description: 'fuzzer seed' });
  if (created.status !== 201) throw new Error(`seeding: create model answered ${created.status}`);
  await seedVersion(t, SEED_MODEL, mlpModel());
  const predicted = await http(t, 'POST', '/api/v1/predictions', {
    model: SEED_MODEL,
    version: 1,
    inputs: { x: [[1, 2, 3, 4]] },
  });
  if (predicted.status !== 200)
    throw new Error(`seeding: prediction answered ${predicted.status} ${JSON.stringify(predicted.body)}`);
  const job = await http(t, 'POST', '/api/v1/jobs', {
    model: SEED_MODEL,
    instances: [{ inputs: { x: [[1, 2, 3, 4]] } }],
  });
  if (job.status !== 202) throw new Error(`seeding: job answered ${job.status} ${JSON.stringify(job.body)}`);
  pools.job.push((job.body as { id: string }).id);
}

/** After the run: alive, ready, still a working registry, staging empty, nothing written elsewhere. */
async function checkAfterRun(t: TestApp, seed: number): Promise<string[]> {
  const problems: string[] = [];
  const live = await http(t, 'GET', '/health/live').catch((e: Error) => ({ status: 0, body: e.message }));
  if (live.status !== 200) problems.push(`/health/live answered ${live.status}`);
  let ready = 0;
  const notReady = await waitFor('/health/ready answers 200', async () => {
    ready = (await http(t, 'GET', '/health/ready')).status;
    return ready === 200;
  });
  if (notReady) problems.push(`${notReady}; last status ${ready}`);
  const name = `after-${seed >>> 0}`;
  const created = await http(t, 'POST', '/api/v1/models', { name, tags: ['after'] });
  if (created.status !== 201)
    problems.push(`creating model ${name} answered ${created.status}: ${JSON.stringify(created.body)}`);
  const read = await http(t, 'GET', `/api/v1/models/${name}`);
  if (read.status !== 200 || (read.body as { name?: string }).name !== name) {
    problems.push(`reading model ${name} answered ${read.status}: ${JSON.stringify(read.body).slice(0, 300)}`);
  }
  const predicted = await http(t, 'POST', '/api/v1/predictions', {
    model: SEED_MODEL,
    version: 1,
    inputs: { x: [[1, 2, 3, 4]] },
  });
  if (predicted.status !== 200)
    problems.push(`a prediction answered ${predicted.status}: ${JSON.stringify(predicted.body).slice(0, 300)}`);
  for (const dir of [path.join(t.dataDir, 'artifacts', '.staging'), path.join(t.dataDir, 'jobs-staging')]) {
    const left = await waitFor(`${path.relative(t.dataDir, dir)} empty`, () => listFiles(dir).length === 0);
    if (left) problems.push(`${left}: ${listFiles(dir).slice(0, 5).join(', ')}`);
  }
  return problems;
}

/** Runs the fuzzer and returns what it saw; it never throws for a finding, only for a broken setup. */
export async function runHttpFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-fuzz-'));
  const cwd = path.join(root, 'cwd');
  const tmp = path.join(root, 'tmp');
  fs.mkdirSync(cwd);
  fs.mkdirSync(tmp);
  const repo = path.resolve(__dirname, '../../..');
  const repoSkip = ['node_modules', 'dist', '.git', path.join('test', '.generated')];
  const repoBefore = snapshot(repo, repoSkip);
  const previousCwd = process.cwd();
  const previousTmp = process.env.TMPDIR;
  const crashes: string[] = [];
  const onCrash = (error: unknown) =>
    crashes.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  // A relative path or os.tmpdir() in the service lands in these two folders, which must stay empty.
  process.chdir(cwd);
  process.env.TMPDIR = tmp;
  const log = new ErrorLog();
  let t: TestApp | undefined;
  try {
    t = await startTestApp(options.engine, {
      listen: true,
      env: FUZZ_ENV,
      logger: pino({ level: 'error' }, log),
    });
    const port = Number(new URL(t.baseUrl!).port);
    const pools = new IdPools();
    await seedService(t, pools);
    const document = (await http(t, 'GET', '/docs-json')).body;
    const operations = operationsOf(document);
    const world: FuzzWorld = {
      document,
      seedModel: SEED_MODEL,
      disposableModels: DISPOSABLE_MODELS,
      inputName: 'x',
      inputColumns: 4,
    };
    const arbitrary = fc.oneof(...operations.map((op) => caseFor(world, op, FUZZ_LIMITS)), unknownRouteCase());

    const report: FuzzReport = {
      engine: options.engine,
      seed: options.seed,
      requests: 0,
      byStatus: {},
      documented: operations.map((op) => op.operationId),
      byOperation: {},
      serverErrors: 0,
      findings: 0,
      distinct: [],
      afterRun: [],
      durationMs: 0,
      slowestMs: 0,
      rssBeforeBytes: 0,
      rssWarmBytes: 0,
      rssAfterBytes: 0,
      rssSamples: [],
    };
    report.rssBeforeBytes = rss();
    const started = performance.now();
    const groups = new FindingGroups();
    const warmAfter = options.replay === undefined ? Math.min(1000, Math.ceil(options.requests / 10)) : 1;
    const exchange = async (c: FuzzCase, index: number): Promise<void> => {
      const target = pools.resolve(c);
      const outcome = await send(port, { ...c, target }, options.timeoutMs ?? 20_000);
      pools.harvest(c, outcome);
      const status = outcome.kind === 'response' ? outcome.response.status : undefined;
      report.requests++;
      report.byStatus[status ?? outcome.kind] = (report.byStatus[status ?? outcome.kind] ?? 0) + 1;
      report.byOperation[c.operationId] = (report.byOperation[c.operationId] ?? 0) + 1;
      report.slowestMs = Math.max(report.slowestMs, outcome.ms);
      if (status !== undefined && status >= 500) report.serverErrors++;
      for (const violation of checkOutcome(outcome, c)) {
        const requestId = outcome.kind === 'response' ? outcome.response.headers['x-request-id'] : undefined;
        report.findings++;
        groups.add({
          rule: violation.rule,
          index,
          operationId: c.operationId,
          mutation: c.mutation,
          status,
          detail: violation.detail,
          serverError: requestId ? log.byRequest.get(requestId) : undefined,
          request: describeCase(c, target),
        });
      }
      if (report.requests === warmAfter) report.rssWarmBytes = rss();
      if (report.requests % 1000 === 0) report.rssSamples.push([report.requests, rss()]);
      options.progress?.(report.requests);
    };
    // Cases are generated in seed order; up to `concurrency` of them are on the wire at once.
    const concurrency = options.replay === undefined ? (options.concurrency ?? 4) : 1;
    const inFlight = new Set<Promise<void>>();
    let next = options.replay ?? 0;
    await fc.check(
      fc.asyncProperty(arbitrary, async (c) => {
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
        const running: Promise<void> = exchange(c, next++).finally(() => inFlight.delete(running));
        inFlight.add(running);
        return true;
      }),
      options.replay === undefined
        ? { seed: options.seed, numRuns: options.requests }
        : { seed: options.seed, path: String(options.replay), numRuns: 1 },
    );
    await Promise.all(inFlight);
    report.durationMs = Math.round(performance.now() - started);
    report.rssAfterBytes = rss();
    report.distinct = groups.list();
    report.afterRun = await checkAfterRun(t, options.seed);
    const dataDir = t.dataDir;
    await t.close();
    t = undefined;
    const strayCwd = listFiles(cwd);
    if (strayCwd.length > 0)
      report.afterRun.push(`files written to the working directory: ${strayCwd.slice(0, 10).join(', ')}`);
    const strayTmp = fs.readdirSync(tmp).filter((name) => path.join(tmp, name) !== dataDir && !isOnnxRuntimeFile(name));
    if (strayTmp.length > 0) report.afterRun.push(`files written to TMPDIR: ${strayTmp.slice(0, 10).join(', ')}`);
    const repoChanged = changes(repoBefore, snapshot(repo, repoSkip));
    if (repoChanged.length > 0)
      report.afterRun.push(`files changed in the repository: ${repoChanged.slice(0, 10).join(', ')}`);
    if (crashes.length > 0) report.afterRun.push(...crashes.map((c) => `uncaught in the process: ${c.slice(0, 500)}`));
    return report;
  } finally {
    await t?.close().catch(() => undefined);
    process.chdir(previousCwd);
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** One line: requests, statuses, 5xx, duration and memory. */
export function summaryLine(report: FuzzReport): string {
  const statuses = Object.entries(report.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}:${count}`)
    .join(' ');
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  const growth = (from: number) => `${from > 0 ? ((report.rssAfterBytes / from - 1) * 100).toFixed(1) : '?'}%`;
  return (
    `fuzz engine=${report.engine} seed=${report.seed} requests=${report.requests} statuses=[${statuses}] ` +
    `5xx=${report.serverErrors} findings=${report.findings} distinct=${report.distinct.length} ` +
    `after-run-problems=${report.afterRun.length} duration=${(report.durationMs / 1000).toFixed(1)}s ` +
    `slowest=${report.slowestMs}ms rss=${mb(report.rssBeforeBytes)}MB->${mb(report.rssWarmBytes)}MB (warm)->${mb(report.rssAfterBytes)}MB ` +
    `(growth ${growth(report.rssBeforeBytes)} from start, ${growth(report.rssWarmBytes)} after warm-up)`
  );
}

/** Every distinct finding with an example request and how to replay it. */
export function findingsText(report: FuzzReport): string {
  return report.distinct
    .map((f, i) => {
      const where = f.operations.length > 3 ? `${f.operations.length} operations` : f.operations.join(', ');
      const head = `#${i + 1} ${f.rule} x${f.count} ${where} status=${f.status ?? '-'}: ${f.detail}`;
      const cause = f.serverError ? `\n   server: ${f.serverError.slice(0, 400)}` : '';
      const replay = `\n   replay: npm run fuzz -- --engine ${report.engine} --seed ${report.seed} --replay ${f.index}`;
      return `${head}${cause}\n   input: ${f.mutation}\n   ${f.request.split('\n').join('\n   ')}${replay}`;
    })
    .join('\n');
}

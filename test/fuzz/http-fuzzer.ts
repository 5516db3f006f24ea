/**
 * The HTTP fuzzer: starts the real application on a database engine, seeds a model with a ready
 * version, reads /docs-json and sends seeded, generated requests to every operation in it over
 * real sockets. Every answer is checked (response-check.ts); after the run the service must still
 * be alive, ready and working, with nothing written outside DATA_DIR.
 */
import * as path from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { mlpModel } from '../support/onnx-models';
import type { Engine } from '../support/postgres';
import { seedVersion } from '../support/seed';
import { listFiles, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';
import { BodyLimits, describeCase, FuzzCase } from './fuzz-case';
import { operationsOf } from './openapi-operations';
import { unknownRouteCase } from './protocol-cases';
import { caseFor } from './request-cases';
import { checkOutcome } from './response-check';
import { FindingGroups, FuzzReport } from './fuzz-report';
import { ErrorLog, Sandbox } from './service-watch';
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

/** Fuzzed requests carry the admin credential (unless a case sets its own), so they reach every handler. */
function withCredential(headers: Array<[string, string]>, key: string): Array<[string, string]> {
  const has = headers.some(([name]) => name.toLowerCase() === 'authorization' || name.toLowerCase() === 'x-api-key');
  return has ? headers : [['Authorization', `Bearer ${key}`], ...headers];
}

async function http(
  t: TestApp,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${t.baseUrl}${route}`, {
    method,
    headers: {
      Authorization: `Bearer ${t.adminKey}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
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

/** The message of a wait that timed out, or undefined. */
function failureOf(wait: Promise<unknown>): Promise<string | undefined> {
  return wait.then(
    () => undefined,
    (error: Error) => error.message,
  );
}

/** After the run: alive, ready, still a working registry, staging empty, nothing written elsewhere. */
async function checkAfterRun(t: TestApp, seed: number): Promise<string[]> {
  const problems: string[] = [];
  const live = await http(t, 'GET', '/health/live').catch((e: Error) => ({ status: 0, body: e.message }));
  if (live.status !== 200) problems.push(`/health/live answered ${live.status}`);
  let ready = 0;
  const notReady = await failureOf(
    waitFor(
      async () => {
        ready = (await http(t, 'GET', '/health/ready')).status;
        return ready === 200;
      },
      { what: '/health/ready to answer 200' },
    ),
  );
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
    const left = await failureOf(
      waitFor(() => listFiles(dir).length === 0, { what: `${path.relative(t.dataDir, dir)} to empty` }),
    );
    if (left) problems.push(`${left}: ${listFiles(dir).slice(0, 5).join(', ')}`);
  }
  return problems;
}

function emptyReport(options: FuzzOptions, documented: string[]): FuzzReport {
  return {
    engine: options.engine,
    seed: options.seed,
    requests: 0,
    byStatus: {},
    documented,
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
}

/**
 * Generates the cases in seed order and hands each to `exchange`, with up to `concurrency` of
 * them on the wire at once. A replay generates only the case at that index.
 */
async function sendAll(
  arbitrary: fc.Arbitrary<FuzzCase>,
  options: FuzzOptions,
  exchange: (c: FuzzCase, index: number) => Promise<void>,
): Promise<void> {
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
}

/** Runs the fuzzer and returns what it saw; it never throws for a finding, only for a broken setup. */
export async function runHttpFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const sandbox = Sandbox.enter();
  const log = new ErrorLog();
  let t: TestApp | undefined;
  try {
    t = await startTestApp(options.engine, { listen: true, env: FUZZ_ENV, logger: pino({ level: 'error' }, log) });
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

    const report = emptyReport(
      options,
      operations.map((op) => op.operationId),
    );
    const groups = new FindingGroups();
    const warmAfter = options.replay === undefined ? Math.min(1000, Math.ceil(options.requests / 10)) : 1;
    report.rssBeforeBytes = rss();
    const started = performance.now();
    await sendAll(arbitrary, options, async (c, index) => {
      const target = pools.resolve(c);
      const outcome = await send(
        port,
        { ...c, target, headers: withCredential(c.headers, TEST_ADMIN_KEY) },
        options.timeoutMs ?? 20_000,
      );
      pools.harvest(c, outcome);
      const status = outcome.kind === 'response' ? outcome.response.status : undefined;
      report.requests++;
      report.byStatus[status ?? outcome.kind] = (report.byStatus[status ?? outcome.kind] ?? 0) + 1;
      report.byOperation[c.operationId] = (report.byOperation[c.operationId] ?? 0) + 1;
      report.slowestMs = Math.max(report.slowestMs, outcome.ms);
      if (status !== undefined && status >= 500) report.serverErrors++;
      const requestId = outcome.kind === 'response' ? outcome.response.headers['x-request-id'] : undefined;
      for (const violation of checkOutcome(outcome, c)) {
        report.findings++;
        groups.add({
          ...violation,
          index,
          operationId: c.operationId,
          mutation: c.mutation,
          status,
          serverError: requestId ? log.byRequest.get(requestId) : undefined,
          request: describeCase(c, target),
        });
      }
      if (report.requests === warmAfter) report.rssWarmBytes = rss();
      if (report.requests % 1000 === 0) report.rssSamples.push([report.requests, rss()]);
      options.progress?.(report.requests);
    });
    report.durationMs = Math.round(performance.now() - started);
    report.rssAfterBytes = rss();
    report.distinct = groups.list();
    report.afterRun = await checkAfterRun(t, options.seed);
    const dataDir = t.dataDir;
    await t.close();
    t = undefined;
    report.afterRun.push(...sandbox.problems(dataDir));
    return report;
  } finally {
    await t?.close().catch(() => undefined);
    sandbox.leave();
  }
}

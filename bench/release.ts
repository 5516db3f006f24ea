/**
 * npm run bench:release (also part of npm run bench): the two targets of issue 13, both sides of
 * each measured in this run.
 *
 * Alias moves on two replicas: two ModelForge processes sharing one PostgreSQL database (a new
 * one, made as the tests make theirs from TEST_DATABASE_URL, dropped at the end), Redis
 * (REDIS_TEST_URL) and the artifact store, each under closed-loop prediction load by alias with the prediction cache on.
 * `champion` moves BENCH_RELEASE_MOVES times between two MLPs (the PUT sent to each replica in
 * turn); for each move and replica: the time from the PUT's answer to the answer of a probe sent to
 * that replica then (the target), the time to the first answer by the new version among the load's
 * requests sent after it, and the answers by the old version among both (must be 0). Without
 * PostgreSQL or Redis this part says why and is skipped.
 *
 * Shadow overhead: one ModelForge (SQLite), the MLP at concurrency 8 (the target) and 1 (where
 * most mirrors run rather than being dropped) with `Cache-Control: no-cache`, requests naming no
 * version, a traffic policy sending them all to version 1, with and without `shadow: {version: 2,
 * percent: 100}`, in alternating cells; the p50 of each side is the median of its cells. A build whose traffic policy has no shadow (PUT answers 400 naming it)
 * gets "not measured".
 *
 * BENCH_RELEASE_MOVES (20), BENCH_RELEASE_ROUNDS (5 per side), BENCH_RELEASE_ONLY (`moves` or
 * `shadow`), BENCH_DURATION_MS (each shadow cell), TEST_DATABASE_URL, REDIS_TEST_URL.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { mlpModel } from '../test/support/onnx-models';
import { createPostgresDatabase, TestDatabase } from '../test/support/postgres';
import { LoadResult, parseServerTiming, percentile, runLoad } from './load';
import { AUTH_HEADER, Spawned, scrapeSum, startModelForge } from './processes';
import { Target, fmt, row, targetLines } from './targets';
import { BenchModel, DURATION_MS, NO_CACHE, fixedBody, upload } from './workload';

const MOVES = Number(process.env.BENCH_RELEASE_MOVES ?? 20);
const ROUNDS = Number(process.env.BENCH_RELEASE_ROUNDS ?? 5);
/** `moves` or `shadow` runs that part alone. */
const ONLY = process.env.BENCH_RELEASE_ONLY;
const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
const CLIENTS_PER_REPLICA = 2;
/** The target's concurrency, then one at which most mirrors run (for information). */
const SHADOW_CONCURRENCY = 8;
const SHADOW_CONCURRENCIES = [SHADOW_CONCURRENCY, 1];
/** After both replicas answered by the new version: answers each gives before the next move. */
const ANSWERS_AFTER_MOVE = 10;
const PORTS = { replicaA: 39120, replicaB: 39121, shadow: 39122 };

/** The two versions: MLPs of the benchmark's size (64-256-10) with different weights. */
function versions(name: string): [BenchModel, BenchModel] {
  const of = (seed: number): BenchModel => ({
    name,
    bytes: mlpModel({ inputSize: 64, hidden: 256, outputSize: 10, seed }),
    inputName: 'x',
    shape: [1, 64],
  });
  return [of(1), of(2)];
}

async function send(
  baseUrl: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { ...AUTH_HEADER, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function mustSend(baseUrl: string, method: string, route: string, body?: unknown): Promise<string> {
  const { status, text } = await send(baseUrl, method, route, body);
  if (status >= 300) throw new Error(`${method} ${route} answered ${status}: ${text.slice(0, 300)}`);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Alias moves on two replicas

interface Answer {
  replica: number;
  sentAt: number;
  doneAt: number;
  status: number;
  version: number;
  /** Server-Timing stages of the answer (ms by name). */
  stages: Record<string, number>;
}

function serverTiming(header: string | string[] | undefined): Record<string, number> {
  const stages = new Map<string, number>();
  parseServerTiming(header, stages);
  return Object.fromEntries(stages);
}

/**
 * Predictions by alias on one replica over its own keep-alive connections: each call sends one and
 * answers when it left, when it came back and which version served.
 */
function predictor(baseUrl: string, replica: number, body: string, sockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const payload = Buffer.from(body);
  const predict = (): Promise<Answer> => {
    const sentAt = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${baseUrl}/api/v1/predictions`,
        {
          method: 'POST',
          agent,
          headers: { ...AUTH_HEADER, 'Content-Type': 'application/json', 'Content-Length': payload.length },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({
              replica,
              sentAt,
              doneAt: performance.now(),
              status: res.statusCode ?? 0,
              version: Number(res.headers['x-model-version']),
              stages: serverTiming(res.headers['server-timing']),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
  return { predict, close: () => agent.destroy() };
}

/** Closed-loop clients on one replica until `running` says stop, every answer pushed to `answers`. */
async function aliasLoad(baseUrl: string, replica: number, body: string, answers: Answer[], running: () => boolean) {
  const { predict, close } = predictor(baseUrl, replica, body, CLIENTS_PER_REPLICA);
  try {
    await Promise.all(
      Array.from({ length: CLIENTS_PER_REPLICA }, async () => {
        while (running()) answers.push(await predict());
      }),
    );
  } finally {
    close();
  }
}

/** Resolves once `check` holds, looking every millisecond (the measured times come from the answers, not from here). */
async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

interface MoveResult {
  /** By replica: ms from the PUT's answer to the answer of the probe sent then (undefined: an old-version answer). */
  probeMs: (number | undefined)[];
  /** By replica: the probe's Server-Timing stages. */
  probeStages: Record<string, number>[];
  /** By replica: ms from the PUT's answer to the first new-version answer to a load request sent after it. */
  firstNewMs: number[];
  /** By replica: answers by the old version to requests sent after the PUT answered. */
  stale: number[];
}

/** A new PostgreSQL database for the replicas, or why they cannot run here (Redis or PostgreSQL unreachable). */
async function replicaDatabase(): Promise<TestDatabase | string> {
  const redis = await redisUnavailable();
  if (redis) return redis;
  try {
    return await createPostgresDatabase();
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why Redis cannot serve the replicas here, or undefined when it answers. */
async function redisUnavailable(): Promise<string | undefined> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (error) {
    return `Redis unreachable at ${new URL(REDIS_URL).host} (REDIS_TEST_URL): ${(error as Error).message}`;
  } finally {
    redis.disconnect();
  }
}

/** Every move's result, and by replica the sorted latencies of all answers (what one request costs under this load). */
async function measureAliasMoves(
  work: string,
  databaseUrl: string,
): Promise<{ moves: MoveResult[]; requestMs: number[][]; loadStages: Record<string, number>[][] }> {
  const dataDir = path.join(work, 'replicas');
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    JOBS_QUEUE_PREFIX: `mf-bench-release-${process.pid}`,
    // Two replicas on the benchmark's cores: one inference process each, not one per core each.
    INFERENCE_WORKERS: '1',
  };
  const replicas: Spawned[] = [];
  try {
    replicas.push(await startModelForge(dataDir, PORTS.replicaA, env));
    replicas.push(await startModelForge(dataDir, PORTS.replicaB, { ...env, DATABASE_MIGRATIONS_RUN: 'false' }));
    const [v1, v2] = versions('ranker');
    await upload(replicas[0].baseUrl, v1);
    await upload(replicas[1].baseUrl, v2);
    const alias = (replica: Spawned, version: number) =>
      mustSend(replica.baseUrl, 'PUT', '/api/v1/models/ranker/aliases/champion', { version });
    await alias(replicas[0], 1);

    const body = JSON.stringify({ ...JSON.parse(fixedBody(v1)), version: 'champion' });
    const answers: Answer[] = [];
    let running = true;
    const load = replicas.map((replica, i) => aliasLoad(replica.baseUrl, i, body, answers, () => running));
    const probes = replicas.map((replica, i) => predictor(replica.baseUrl, i, body, 1));
    const results: MoveResult[] = [];
    try {
      // Each probe's connection is open before the first move.
      for (const probe of probes) await probe.predict();
      const answeredSince = (replica: number, since: number, version?: number) =>
        answers.filter(
          (a) => a.replica === replica && a.sentAt >= since && (version === undefined || a.version === version),
        );
      await until(
        () => [0, 1].every((r) => answeredSince(r, 0, 1).length >= ANSWERS_AFTER_MOVE),
        'answers before the first move',
      );
      for (let move = 0; move < MOVES; move++) {
        const target = move % 2 === 0 ? 2 : 1;
        await alias(replicas[move % 2], target);
        const returned = performance.now();
        const probed = await Promise.all(probes.map((probe) => probe.predict()));
        await until(
          () =>
            [0, 1].every(
              (r) =>
                answeredSince(r, returned, target).length > 0 &&
                answeredSince(r, returned).length >= ANSWERS_AFTER_MOVE,
            ),
          `move ${move + 1} (to version ${target})`,
        );
        results.push({
          probeMs: probed.map((a) => (a.version === target && a.status === 200 ? a.doneAt - returned : undefined)),
          probeStages: probed.map((a) => a.stages),
          firstNewMs: [0, 1].map(
            (r) => Math.min(...answeredSince(r, returned, target).map((a) => a.doneAt)) - returned,
          ),
          stale: [0, 1].map((r) => answeredSince(r, returned).filter((a) => a.version !== target).length),
        });
      }
    } finally {
      running = false;
      await Promise.all(load);
      for (const probe of probes) probe.close();
    }
    const failed = answers.filter((a) => a.status !== 200).length;
    if (failed > 0) throw new Error(`${failed} of ${answers.length} predictions by alias failed`);
    const requestMs = [0, 1].map((r) =>
      answers
        .filter((a) => a.replica === r)
        .map((a) => a.doneAt - a.sentAt)
        .sort((a, b) => a - b),
    );
    const loadStages = [0, 1].map((r) => answers.filter((a) => a.replica === r).map((a) => a.stages));
    return { moves: results, requestMs, loadStages };
  } finally {
    for (const replica of replicas.reverse()) await replica.stop();
  }
}

/** `name x.xx` for every Server-Timing stage, averaged over the answers. */
function meanStages(all: Record<string, number>[]): string {
  const sums = new Map<string, number>();
  for (const stages of all) for (const [name, ms] of Object.entries(stages)) sums.set(name, (sums.get(name) ?? 0) + ms);
  return [...sums].map(([name, sum]) => `${name} ${fmt(sum / all.length, 2)}`).join(', ') || 'none';
}

async function benchAliasMoves(work: string): Promise<{ lines: string[]; target: Target }> {
  const heading = `### Alias move to the first answer by the new version, two replicas (PostgreSQL + Redis), ${MOVES} moves`;
  const name =
    'Alias move to the answer by the new version of a request sent as the PUT answers, on each of 2 replicas (max over moves)';
  const database = await replicaDatabase();
  if (typeof database === 'string') {
    return {
      lines: [heading, '', `Not measured: ${database.replace(/\.$/, '')}.`],
      target: { name, sides: database, value: NaN, unit: ' ms', goal: '< 50 ms', met: undefined },
    };
  }
  let measured: Awaited<ReturnType<typeof measureAliasMoves>>;
  try {
    measured = await measureAliasMoves(work, database.url);
  } finally {
    await database.drop();
  }
  const { moves, requestMs, loadStages } = measured;
  const sortedMs = (values: (number | undefined)[]) =>
    values.filter((v): v is number => v !== undefined).sort((x, y) => x - y);
  const probes = [0, 1].map((r) => sortedMs(moves.map((m) => m.probeMs[r])));
  const loads = [0, 1].map((r) => sortedMs(moves.map((m) => m.firstNewMs[r])));
  /** Probes answered by the old version (or failed). */
  const oldProbes = [0, 1].map((r) => moves.length - probes[r].length);
  const stale = [0, 1].map((r) => moves.reduce((sum, m) => sum + m.stale[r], 0));
  const p50Max = (sorted: number[]) => `${fmt(percentile(sorted, 0.5), 2)} / ${fmt(sorted.at(-1) ?? NaN, 2)}`;
  const worst = Math.max(...probes.flat());
  const old = oldProbes[0] + oldProbes[1] + stale[0] + stale[1];
  const replicaName = (r: number) => (r === 0 ? 'A' : 'B');
  return {
    lines: [
      heading,
      '',
      `Two ModelForge processes (one inference process each) share a PostgreSQL database, Redis and the artifact ` +
        `store on this machine; ${CLIENTS_PER_REPLICA} closed-loop clients per replica predict by alias (MLP ` +
        '64-256-10, prediction cache on, the same body every time, so answers come from the shared Redis cache ' +
        'between moves). `champion` moves between two versions with different weights, the PUT sent to each ' +
        'replica in turn. Probe: one request sent to each replica as the PUT answers, on a connection of its own; ' +
        "its time runs from the PUT's answer to the probe's answer. Load: from the PUT's answer to the first " +
        'answer by the new version among the load requests sent after it (this waits for a request in flight ' +
        'to come back first). Old-version answers: probes and load requests sent after the PUT answered that ' +
        'the previous target served.',
      '',
      row([
        'replica',
        'probe p50 / max ms',
        'load p50 / max ms',
        'old-version answers after the PUT',
        'any request under this load, p50 / p99 ms',
      ]),
      row(['---', '---:', '---:', '---:', '---:']),
      ...[0, 1].map((r) =>
        row([
          replicaName(r),
          p50Max(probes[r]),
          p50Max(loads[r]),
          oldProbes[r] + stale[r],
          `${fmt(percentile(requestMs[r], 0.5), 2)} / ${fmt(percentile(requestMs[r], 0.99), 2)}`,
        ]),
      ),
      '',
      `Probe Server-Timing, mean ms over the moves: ${[0, 1]
        .map((r) => `${replicaName(r)} ${meanStages(moves.map((m) => m.probeStages[r]))}`)
        .join('; ')}.`,
      `Every load answer, for comparison: ${[0, 1]
        .map((r) => `${replicaName(r)} ${meanStages(loadStages[r])}`)
        .join('; ')}.`,
    ],
    target: {
      name,
      sides: `${[0, 1].map((r) => `${replicaName(r)} p50 / max ${p50Max(probes[r])} ms`).join(', ')}; ${old} old-version answers`,
      value: worst,
      unit: ' ms',
      goal: '< 50 ms, 0 old-version answers',
      met: worst < 50 && old === 0,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Shadow overhead

const SPLIT = [{ version: 1, weight: 100 }];

interface ShadowCell {
  concurrency: number;
  shadow: boolean;
  result: LoadResult;
  /** Increase of modelforge_shadow_runs_total and _dropped_total over the cell (NaN without those metrics). */
  shadowRuns: number;
  shadowDropped: number;
}

/** The traffic/stats body, for the table's mirrored count; undefined when the route is not there. */
async function shadowStats(baseUrl: string, model: string): Promise<string | undefined> {
  const { status, text } = await send(baseUrl, 'GET', `/api/v1/models/${model}/traffic/stats?minutes=60`);
  return status === 200 ? text : undefined;
}

async function benchShadow(work: string): Promise<{ lines: string[]; target: Target }> {
  const heading = `### Shadow at 100%: served-path latency, MLP at concurrency ${SHADOW_CONCURRENCIES.join(' and ')}`;
  const name = `Served-path p50 with a shadow at 100% / without (MLP, c${SHADOW_CONCURRENCY}, no-cache)`;
  const service = await startModelForge(path.join(work, 'shadow'), PORTS.shadow);
  try {
    const [v1, v2] = versions('mlp');
    await upload(service.baseUrl, v1);
    await upload(service.baseUrl, v2);
    const setPolicy = (shadow: boolean) =>
      send(service.baseUrl, 'PUT', `/api/v1/models/${v1.name}/traffic`, {
        split: SPLIT,
        ...(shadow ? { shadow: { version: 2, percent: 100 } } : {}),
      });
    const probe = await setPolicy(true);
    if (probe.status !== 200) {
      const why = `PUT .../traffic with a shadow answered ${probe.status}: ${probe.text.slice(0, 200)}`;
      return {
        lines: [heading, '', `Not measured: this build has no shadow (${why}).`],
        target: { name, sides: 'no shadow in this build', value: NaN, goal: '<= 1.05x', met: undefined },
      };
    }
    const shadowCounts = async () => ({
      runs: await scrapeSum(service.baseUrl, 'modelforge_shadow_runs_total'),
      dropped: await scrapeSum(service.baseUrl, 'modelforge_shadow_dropped_total'),
    });
    const cell = async (concurrency: number, shadow: boolean, durationMs = DURATION_MS): Promise<ShadowCell> => {
      const set = await setPolicy(shadow);
      if (set.status !== 200) throw new Error(`PUT .../traffic answered ${set.status}: ${set.text.slice(0, 300)}`);
      const before = await shadowCounts();
      const result = await runLoad({
        url: `${service.baseUrl}/api/v1/predictions`,
        body: fixedBody(v1),
        headers: { ...AUTH_HEADER, ...NO_CACHE },
        concurrency,
        durationMs,
      });
      const after = await shadowCounts();
      return {
        concurrency,
        shadow,
        result,
        shadowRuns: after.runs - before.runs,
        shadowDropped: after.dropped - before.dropped,
      };
    };
    const cells: ShadowCell[] = [];
    for (const concurrency of SHADOW_CONCURRENCIES) {
      // Not measured: both sides once at this concurrency (both versions run in every inference process).
      for (const shadow of [true, false]) await cell(concurrency, shadow, 1000);
      for (let round = 0; round < ROUNDS; round++) {
        for (const shadow of round % 2 === 0 ? [false, true] : [true, false])
          cells.push(await cell(concurrency, shadow));
      }
    }
    const stats = await shadowStats(service.baseUrl, v1.name);
    const of = (concurrency: number, shadow: boolean) =>
      cells.filter((c) => c.concurrency === concurrency && c.shadow === shadow);
    const median = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        0.5,
      );
    const p50 = (concurrency: number, shadow: boolean) => median(of(concurrency, shadow).map((c) => c.result.p50Ms));
    const errors = (concurrency: number) =>
      cells.filter((c) => c.concurrency === concurrency).reduce((sum, c) => sum + c.result.errors, 0);
    const total = (concurrency: number, key: 'shadowRuns' | 'shadowDropped') =>
      of(concurrency, true).reduce((sum, c) => sum + c[key], 0);
    const ranShare = (concurrency: number) => {
      const ran = total(concurrency, 'shadowRuns');
      return `${fmt(ran, 0)} / ${fmt(total(concurrency, 'shadowDropped'), 0)} (${fmt((100 * ran) / (ran + total(concurrency, 'shadowDropped')), 1)}% ran)`;
    };
    const ratio = p50(SHADOW_CONCURRENCY, true) / p50(SHADOW_CONCURRENCY, false);
    return {
      lines: [
        heading,
        '',
        `One ModelForge (SQLite, default settings), closed-loop clients with \`Cache-Control: no-cache\`, requests ` +
          'naming no version; the policy sends them all to version 1, with or without ' +
          '`shadow: {version: 2, percent: 100}` (another MLP 64-256-10). At each concurrency, after a 1000 ms ' +
          `warm-up cell per side, ${ROUNDS} rounds of ${DURATION_MS} ms per side, alternating; each side's p50 is ` +
          'the median of its cells. Shadow runs / dropped: the increase of modelforge_shadow_runs_total and ' +
          `modelforge_shadow_dropped_total. The target is at concurrency ${SHADOW_CONCURRENCY}; concurrency 1 shows ` +
          'what a shadow costs when most mirrors run.',
        '',
        row(['conc.', 'p50 no shadow ms', 'p50 shadow 100% ms', 'ratio', 'errors', 'shadow runs / dropped']),
        row(['---:', '---:', '---:', '---:', '---:', '---:']),
        ...SHADOW_CONCURRENCIES.map((c) =>
          row([
            c,
            fmt(p50(c, false), 2),
            fmt(p50(c, true), 2),
            `${fmt(p50(c, true) / p50(c, false), 3)}x`,
            errors(c),
            ranShare(c),
          ]),
        ),
        '',
        row(['conc.', 'round', 'side', 'rps', 'p50 / p99 ms', 'errors', 'shadow runs / dropped']),
        row(['---:', '---:', '---', '---:', '---:', '---:', '---:']),
        ...cells.map((c, i) =>
          row([
            c.concurrency,
            Math.floor((i % (2 * ROUNDS)) / 2) + 1,
            c.shadow ? 'shadow 100%' : 'no shadow',
            fmt(c.result.rps, 0),
            `${fmt(c.result.p50Ms, 2)} / ${fmt(c.result.p99Ms, 2)}`,
            c.result.errors,
            `${fmt(c.shadowRuns, 0)} / ${fmt(c.shadowDropped, 0)}`,
          ]),
        ),
        '',
        `GET /api/v1/models/${v1.name}/traffic/stats?minutes=60 after the run: ${stats === undefined ? 'not available' : `\`${stats.slice(0, 1500)}\``}`,
      ],
      target: {
        name,
        sides:
          `${fmt(p50(SHADOW_CONCURRENCY, true), 2)} vs ${fmt(p50(SHADOW_CONCURRENCY, false), 2)} ms; ` +
          `${errors(SHADOW_CONCURRENCY)} errors; shadow runs / dropped ${ranShare(SHADOW_CONCURRENCY)}`,
        value: ratio,
        goal: '<= 1.05x',
        met: ratio <= 1.05 && errors(SHADOW_CONCURRENCY) === 0,
      },
    };
  } finally {
    await service.stop();
  }
}

export async function benchRelease(): Promise<{ lines: string[]; targets: Target[] }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-release-'));
  try {
    // Other work on the machine moves these numbers more than anything measured here: say how much there was.
    const loadAverage = os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(', ');
    const parts = [
      ...(ONLY === 'shadow' ? [] : [await benchAliasMoves(work)]),
      ...(ONLY === 'moves' ? [] : [await benchShadow(work)]),
    ];
    return {
      lines: [
        '## Releasing a new version (issue 13)',
        '',
        `Load average (1, 5, 15 min) when this part began: ${loadAverage}.`,
        '',
        ...parts.flatMap((part) => [...part.lines, '']),
      ],
      targets: parts.map((part) => part.target),
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchRelease().then(
    ({ lines, targets }) => console.log(`${lines.join('\n')}\n\n${targetLines(targets).join('\n')}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

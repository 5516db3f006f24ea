/**
 * The survival scenario of issue 10: one ModelForge serves an MLP under closed-loop load while
 * clients keep sending a model that never ends (expected 504 at INFERENCE_TIMEOUT_MS) and a
 * memory bomb (expected 503 once its process passes INFERENCE_PROCESS_MAX_RSS_BYTES). Reports the
 * MLP's throughput and errors against an MLP-only phase of the same run, the fault answers, and
 * the peak resident memory of the ModelForge (HTTP) process in each phase. `node
 * dist/bench/survival.js` runs it alone; `benchSurvival()` returns the markdown lines.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOMB_ELEMENTS, HANG_TRIP_COUNT, hangModel, memoryBombModel } from '../test/support/fault-models';
import { mlpModel } from '../test/support/onnx-models';
import { freePort } from '../test/support/service-process';
import { LoadResult, percentile, runLoad } from './load';
import { AUTH_HEADER, startModelForge } from './processes';
import { upload } from './workload';

const MiB = 2 ** 20;
const DURATION_MS = Number(process.env.BENCH_SURVIVAL_MS ?? 8000);
const TIMEOUT_MS = Number(process.env.BENCH_SURVIVAL_TIMEOUT_MS ?? 3000);
const MAX_RSS_BYTES = 512 * MiB;
const CONCURRENCY = 8;
/** A fault request that has not answered by then is counted as "no answer" and given up. */
const GIVE_UP_MS = TIMEOUT_MS + 30_000;
const NO_CACHE = { 'Cache-Control': 'no-cache' };

const MLP = { name: 'mlp', bytes: mlpModel({ inputSize: 64, hidden: 256, outputSize: 10 }) };
const mlpBody = JSON.stringify({
  model: 'mlp',
  inputs: { x: [Array.from({ length: 64 }, (_, i) => Math.round(Math.sin(i) * 1000) / 1000)] },
});
const hangBody = JSON.stringify({ model: 'hang', inputs: { n: HANG_TRIP_COUNT, x: [[0, 0, 0, 0]] } });
/** 2 GiB of float32 ones, held for as long as the run lasts. */
const bombBody = JSON.stringify({ model: 'bomb', inputs: { shape: [BOMB_ELEMENTS], passes: 1e12 } });

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

/** VmRSS of a process, from /proc (Linux); NaN elsewhere or once it has exited. */
function residentBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every 20 ms until `stop()`, which answers the peak. */
function sampleRss(pid: number): { stop(): number } {
  let peak = residentBytes(pid);
  const timer = setInterval(() => {
    const now = residentBytes(pid);
    if (now > peak || Number.isNaN(peak)) peak = now;
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

interface FaultTally {
  /** Answers by status ("no answer" when the request was given up or the connection failed). */
  statuses: Map<string, number>;
  latenciesMs: number[];
}

/** One client sending `body` again as soon as each answer arrives, until `stopped()`. */
async function faultClient(url: string, body: string, stopped: () => boolean): Promise<FaultTally> {
  const tally: FaultTally = { statuses: new Map(), latenciesMs: [] };
  while (!stopped()) {
    const started = performance.now();
    let status: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { ...AUTH_HEADER, ...NO_CACHE, 'Content-Type': 'application/json' },
        body,
        signal: AbortSignal.timeout(GIVE_UP_MS),
      });
      await res.arrayBuffer();
      status = String(res.status);
    } catch {
      status = 'no answer';
    }
    tally.latenciesMs.push(performance.now() - started);
    tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
  }
  tally.latenciesMs.sort((a, b) => a - b);
  return tally;
}

const describeTally = (tally: FaultTally): string =>
  [...tally.statuses]
    .sort()
    .map(([status, count]) => `${count} × ${status}`)
    .join(', ');

const describeLatency = (tally: FaultTally): string =>
  `${fmt(percentile(tally.latenciesMs, 0.5))} / ${fmt(tally.latenciesMs[tally.latenciesMs.length - 1])}`;

/** MLP load at CONCURRENCY for DURATION_MS, with the HTTP process's RSS peak over the phase. */
async function mlpPhase(baseUrl: string, pid: number): Promise<{ load: LoadResult; rssPeak: number }> {
  const rss = sampleRss(pid);
  const load = await runLoad({
    url: `${baseUrl}/api/v1/predictions`,
    body: mlpBody,
    headers: { ...AUTH_HEADER, ...NO_CACHE },
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
  });
  return { load, rssPeak: rss.stop() };
}

/** Markdown lines: a heading, a note, the table and the ratios. */
interface FaultPhase {
  name: string;
  hang: boolean;
  bomb: boolean;
}

/** One fault at a time, then both at once (with 2 processes, two unknown faulty models can hold both). */
const PHASES: FaultPhase[] = [
  { name: 'MLP + hung model', hang: true, bomb: false },
  { name: 'MLP + memory bomb', hang: false, bomb: true },
  { name: 'MLP + hung model + memory bomb', hang: true, bomb: true },
];

export async function benchSurvival(): Promise<string[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-survival-'));
  const env = { INFERENCE_TIMEOUT_MS: String(TIMEOUT_MS), INFERENCE_PROCESS_MAX_RSS_BYTES: String(MAX_RSS_BYTES) };
  const mf = await startModelForge(path.join(work, 'data'), await freePort(), env);
  const pid = mf.child.pid as number;
  let baseline: Awaited<ReturnType<typeof mlpPhase>>;
  const results: {
    phase: FaultPhase;
    mlp: Awaited<ReturnType<typeof mlpPhase>>;
    hang?: FaultTally;
    bomb?: FaultTally;
  }[] = [];
  let rssAtStart: number;
  try {
    await upload(mf.baseUrl, MLP);
    await upload(mf.baseUrl, { name: 'hang', bytes: hangModel() });
    await upload(mf.baseUrl, { name: 'bomb', bytes: memoryBombModel() });
    rssAtStart = residentBytes(pid);
    baseline = await mlpPhase(mf.baseUrl, pid);
    const url = `${mf.baseUrl}/api/v1/predictions`;
    for (const phase of PHASES) {
      let stop = false;
      const stopped = () => stop;
      const faults = Promise.all([
        phase.hang ? faultClient(url, hangBody, stopped) : undefined,
        phase.bomb ? faultClient(url, bombBody, stopped) : undefined,
      ]);
      let mlp: Awaited<ReturnType<typeof mlpPhase>>;
      try {
        mlp = await mlpPhase(mf.baseUrl, pid);
      } finally {
        stop = true;
      }
      const [hang, bomb] = await faults;
      results.push({ phase, mlp, hang, bomb });
    }
  } finally {
    await mf.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }

  const mib = (bytes: number) => fmt(bytes / MiB, 1);
  const mlpCells = (r: LoadResult) => [fmt(r.rps), `${fmt(r.p50Ms, 2)} / ${fmt(r.p99Ms, 2)}`, r.requests, r.errors];
  return [
    '## Survival: a hung model and a memory bomb beside MLP load',
    '',
    `One ModelForge (default INFERENCE_WORKERS, INFERENCE_TIMEOUT_MS=${TIMEOUT_MS}, ` +
      `INFERENCE_PROCESS_MAX_RSS_BYTES=${MAX_RSS_BYTES / MiB} MiB). The MLP (64-256-10) runs at concurrency ` +
      `${CONCURRENCY} without the cache for ${DURATION_MS} ms per phase: alone, then while one client loops on a ` +
      `model that never ends (a Loop of ${HANG_TRIP_COUNT.toExponential()} iterations, expected 504), then on a ` +
      `memory bomb (ConstantOfShape of 2^${Math.log2(BOMB_ELEMENTS)} float32, ` +
      `${(BOMB_ELEMENTS * 4) / 2 ** 30} GiB, held while it runs, expected 503), then both. RSS is the ` +
      `ModelForge (HTTP) process's VmRSS, sampled every 20 ms; it was ${mib(rssAtStart)} MiB before the load.`,
    '',
    row([
      'phase',
      'MLP rps',
      'MLP p50 / p99 ms',
      'MLP requests',
      'MLP errors',
      'HTTP process RSS peak (MiB)',
      'hung model answers',
      'memory bomb answers',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---', '---']),
    row(['MLP alone', ...mlpCells(baseline.load), mib(baseline.rssPeak), '-', '-']),
    ...results.map((r) =>
      row([
        r.phase.name,
        ...mlpCells(r.mlp.load),
        mib(r.mlp.rssPeak),
        r.hang ? describeTally(r.hang) : '-',
        r.bomb ? describeTally(r.bomb) : '-',
      ]),
    ),
    '',
    ...results.map(
      (r) =>
        `${r.phase.name}: MLP ${fmt(r.mlp.load.rps / baseline.load.rps, 2)}x of the MLP alone ` +
        `(${fmt(r.mlp.load.rps)} vs ${fmt(baseline.load.rps)} req/s), ${r.mlp.load.errors} MLP errors` +
        (r.hang ? `; hung model answer p50 / max ms ${describeLatency(r.hang)}` : '') +
        (r.bomb ? `; memory bomb answer p50 / max ms ${describeLatency(r.bomb)}` : '') +
        '.',
    ),
  ];
}

if (require.main === module) {
  benchSurvival()
    .then((lines) => console.log(lines.join('\n')))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}

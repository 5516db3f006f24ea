/**
 * npm run bench:bodies (also part of npm run bench): /health/live latency and resident memory of
 * ModelForge (default settings) while 8 clients each keep sending 32 MiB bodies to one route,
 * against the same probe on the idle service, in this one run. A row lasts until the jobs its
 * bodies queued have run (the probe goes on meanwhile), so each row starts on an idle service.
 *
 * BENCH_DATABASE_URL runs the service on that PostgreSQL database (an empty one: it is migrated)
 * instead of SQLite; BENCH_BODIES_ONLY=jobs runs only the scenarios whose name contains "jobs".
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { mlpModel } from '../test/support/onnx-models';
import { percentile } from './load';
import { AUTH_HEADER, startModelForge } from './processes';

const CLIENTS = 8;
const BODY_BYTES = 32 * 1024 * 1024;
const SCENARIO_MS = Number(process.env.BENCH_BODIES_MS ?? 8000);
const PORT = 39_411;
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const ONLY = process.env.BENCH_BODIES_ONLY?.toLowerCase();

interface Scenario {
  name: string;
  method: string;
  path: string;
  contentType: string;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'POST /api/v1/predictions (JSON, parsed in an inference process)',
    method: 'POST',
    path: '/api/v1/predictions',
    contentType: 'application/json',
  },
  {
    name: 'POST /api/v1/jobs (JSON, parsed in an inference process)',
    method: 'POST',
    path: '/api/v1/jobs',
    contentType: 'application/json',
  },
  {
    name: 'POST /api/v1/jobs (NDJSON, streamed)',
    method: 'POST',
    path: '/api/v1/jobs?model=mlp',
    contentType: 'application/x-ndjson',
  },
  {
    name: 'POST /api/v1/models (registry limit 1 MiB)',
    method: 'POST',
    path: '/api/v1/models',
    contentType: 'application/json',
  },
  { name: 'POST /health/live (takes no body)', method: 'POST', path: '/health/live', contentType: 'application/json' },
];

/** A 32 MiB body of the route's kind: valid JSON for the MLP, so the server does all its work. */
function bodyFor(scenario: Scenario): Buffer {
  const row = Array.from({ length: 64 }, (_, i) => (Math.sin(i) / 3).toFixed(6)).join(',');
  if (scenario.contentType === 'application/x-ndjson') {
    const line = `{"inputs":{"x":[[${row}]]}}\n`;
    return Buffer.from(line.repeat(Math.floor(BODY_BYTES / line.length)));
  }
  const rows = Math.floor((BODY_BYTES - 100) / (row.length + 3));
  const matrix = `[${Array.from({ length: rows }, () => `[${row}]`).join(',')}]`;
  if (scenario.path.startsWith('/api/v1/jobs')) {
    return Buffer.from(`{"model":"mlp","instances":[{"inputs":{"x":${matrix}}}]}`);
  }
  return Buffer.from(`{"model":"mlp","inputs":{"x":${matrix}}}`);
}

function send(baseUrl: string, scenario: Scenario, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      `${baseUrl}${scenario.path}`,
      {
        method: scenario.method,
        headers: { ...AUTH_HEADER, 'Content-Type': scenario.contentType, 'Content-Length': body.length },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

interface Probe {
  latencies: number[];
  peakRss: number;
}

/** GET /health/live back to back (10 ms apart) and resident memory every 50 ms, until `until` settles. */
async function probe(baseUrl: string, pid: number, until: Promise<unknown>): Promise<Probe> {
  let done = false;
  const stop = () => (done = true);
  until.then(stop, stop);
  const result: Probe = { latencies: [], peakRss: rssBytes(pid) };
  const rss = setInterval(() => (result.peakRss = Math.max(result.peakRss, rssBytes(pid))), 50);
  while (!done) {
    const t0 = performance.now();
    await fetch(`${baseUrl}/health/live`).then((r) => r.arrayBuffer());
    result.latencies.push(performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  clearInterval(rss);
  result.latencies.sort((a, b) => a - b);
  return result;
}

/** Resolves once no job is queued or running. */
async function jobsDone(baseUrl: string): Promise<void> {
  const open = async (status: string) => {
    const res = await fetch(`${baseUrl}/api/v1/jobs?status=${status}&limit=1`, { headers: AUTH_HEADER });
    return ((await res.json()) as { total: number }).total;
  };
  while ((await open('queued')) + (await open('running')) > 0) await new Promise((r) => setTimeout(r, 200));
}

async function load(baseUrl: string, scenario: Scenario, body: Buffer): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  const deadline = Date.now() + SCENARIO_MS;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < deadline) {
        const status = await send(baseUrl, scenario, body);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return statuses;
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(0);

export async function benchBodies(): Promise<string[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-bodies-'));
  const service = await startModelForge(dataDir, PORT, DATABASE_URL ? { DATABASE_URL } : {});
  const lines: string[] = [];
  try {
    const base = service.baseUrl;
    await fetch(`${base}/api/v1/models`, {
      method: 'POST',
      headers: { ...AUTH_HEADER, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'mlp' }),
    });
    const form = new FormData();
    form.append('file', new Blob([mlpModel({ inputSize: 64, hidden: 256, outputSize: 10 })]), 'mlp.onnx');
    const upload = await fetch(`${base}/api/v1/models/mlp/versions`, {
      method: 'POST',
      headers: AUTH_HEADER,
      body: form,
    });
    if (upload.status !== 201) throw new Error(`upload answered ${upload.status}`);
    const pid = service.child.pid!;

    lines.push(
      `### /health/live while ${CLIENTS} clients each send ${mib(BODY_BYTES)} MiB bodies (default settings, ${DATABASE_URL ? 'PostgreSQL' : 'SQLite'}, ${SCENARIO_MS / 1000} s of load each, then until the jobs it queued have run)`,
      '',
      '| load | bodies sent (status: count) | /health/live p50 / p99 / max ms | probes | peak RSS MiB |',
      '| --- | --- | --- | --- | --- |',
    );
    const idle = await probe(base, pid, new Promise((resolve) => setTimeout(resolve, 3000)));
    lines.push(row('idle (no load)', new Map(), idle));
    for (const scenario of SCENARIOS.filter((s) => !ONLY || s.name.toLowerCase().includes(ONLY))) {
      const body = bodyFor(scenario);
      const running = load(base, scenario, body);
      // A row includes running the jobs its bodies queued, so the next row starts on an idle service.
      const measured = await probe(
        base,
        pid,
        running.then(() => jobsDone(base)),
      );
      lines.push(row(scenario.name, await running, measured));
    }
    lines.push(
      '',
      'The budget MAX_INFLIGHT_BODY_BYTES (128 MiB by default) answers 503 with Retry-After past it; bodies over ' +
        'a route limit get 413 before they are read.',
      '',
    );
  } finally {
    await service.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return lines;
}

function row(name: string, statuses: Map<number, number>, p: Probe): string {
  const counts =
    [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ') || '-';
  const ms = (v: number) => v.toFixed(1);
  const max = p.latencies[p.latencies.length - 1] ?? NaN;
  return `| ${name} | ${counts} | ${ms(percentile(p.latencies, 0.5))} / ${ms(percentile(p.latencies, 0.99))} / ${ms(max)} | ${p.latencies.length} | ${mib(p.peakRss)} |`;
}

if (require.main === module) {
  benchBodies().then(
    (lines) => console.log(lines.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

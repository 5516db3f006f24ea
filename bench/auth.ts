/**
 * npm run bench:auth: what access control costs per request, both sides in this one run.
 * - HTTP: the same MLP prediction (a cache hit, the cheapest request, so auth's share is the
 *   largest) against one service with auth on and one with AUTH_ENABLED=false, alternating cells
 *   so drift of the shared machine hits both sides alike.
 * - In process: CredentialsService.resolve for each kind of credential, in microseconds.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { mlpModel } from '../test/support/onnx-models';
import { createApp } from '../src/app.factory';
import { CredentialsService } from '../src/auth/credentials.service';
import { ApiKeysService } from '../src/auth/keys/api-keys.service';
import { AppConfig } from '../src/config/app-config';
import { loadEnvironment } from '../src/config/environment';
import { LoadResult, percentile, runLoad } from './load';
import { AUTH_HEADER, BENCH_ADMIN_KEY, startModelForge } from './processes';

const CELL_MS = Number(process.env.BENCH_AUTH_CELL_MS ?? 3000);
const ROUNDS = Number(process.env.BENCH_AUTH_ROUNDS ?? 3);
const MODEL = { name: 'mlp', bytes: mlpModel({ inputSize: 64, hidden: 256, outputSize: 10 }), input: 'x', size: 64 };

const fmt = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

async function setUp(baseUrl: string, headers: Record<string, string>): Promise<void> {
  await fetch(`${baseUrl}/api/v1/models`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: MODEL.name }),
  });
  const form = new FormData();
  form.append('file', new Blob([MODEL.bytes]), 'mlp.onnx');
  const res = await fetch(`${baseUrl}/api/v1/models/${MODEL.name}/versions`, { method: 'POST', headers, body: form });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
}

/** A predictor key whose own limit is far above what the benchmark sends (limits are measured, not hit). */
async function predictorKey(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/v1/auth/keys`, {
    method: 'POST',
    headers: { ...AUTH_HEADER, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'bench', role: 'predictor', rateLimitPerMinute: 1_000_000 }),
  });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}

/** An admin user logged in (admins are not rate limited by default): its access token (JWT). */
async function accessToken(baseUrl: string): Promise<string> {
  const user = { username: 'bench', password: 'bench passphrase 0123', role: 'admin' };
  const created = await fetch(`${baseUrl}/api/v1/auth/users`, {
    method: 'POST',
    headers: { ...AUTH_HEADER, 'Content-Type': 'application/json' },
    body: JSON.stringify(user),
  });
  if (created.status !== 201) throw new Error(`user creation failed: ${created.status} ${await created.text()}`);
  const login = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  return ((await login.json()) as { accessToken: string }).accessToken;
}

interface Side {
  label: string;
  url: string;
  headers: Record<string, string>;
  p50: number[];
  p99: number[];
  rps: number[];
  errors: number;
}

async function cell(side: Side, body: string, concurrency: number): Promise<void> {
  const result: LoadResult = await runLoad({
    url: side.url,
    body,
    headers: side.headers,
    concurrency,
    durationMs: CELL_MS,
    warmupMs: 300,
  });
  side.p50.push(result.p50Ms);
  side.p99.push(result.p99Ms);
  side.rps.push(result.rps);
  side.errors += result.errors;
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

/** Microseconds per CredentialsService.resolve, in process (no HTTP), for each credential kind. */
async function resolveCost(): Promise<string[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-auth-'));
  const config = new AppConfig(
    loadEnvironment({
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      ADMIN_API_KEY: BENCH_ADMIN_KEY,
      GRPC_PORT: '0',
    }),
  );
  const app = await createApp(config, pino({ level: 'silent' }));
  await app.init();
  try {
    const credentials = app.get(CredentialsService);
    const created = await app
      .get(ApiKeysService)
      .create({ name: 'bench', role: 'predictor' }, { principal: { ...anyAdmin }, requestId: 'bench' });
    const rows: string[] = [];
    const cases: Array<[string, string]> = [
      ['API key (mf_…, cached)', created.key],
      ['ADMIN_API_KEY', BENCH_ADMIN_KEY],
      ['unknown mf_ key (negative cache)', `mf_AAAAAAAA_${'A'.repeat(43)}`],
    ];
    for (const [label, credential] of cases) {
      for (let i = 0; i < 2000; i++) await credentials.resolve(credential);
      const n = 100_000;
      const started = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await credentials.resolve(credential);
      const micros = Number(process.hrtime.bigint() - started) / 1000 / n;
      rows.push(row([label, fmt(micros, 2)]));
    }
    return rows;
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const anyAdmin = {
  kind: 'admin-key' as const,
  id: 'bench',
  name: 'bench',
  role: 'admin' as const,
  actor: 'bench',
  models: null,
  rateLimitPerMinute: null,
};

export async function benchAuth(): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-auth-'));
  const on = await startModelForge(path.join(work, 'on'), 39140);
  const off = await startModelForge(path.join(work, 'off'), 39141, { AUTH_ENABLED: 'false' });
  const lines: string[] = [];
  try {
    await setUp(on.baseUrl, AUTH_HEADER);
    await setUp(off.baseUrl, {});
    const key = await predictorKey(on.baseUrl);
    const token = await accessToken(on.baseUrl);
    const body = JSON.stringify({
      model: MODEL.name,
      inputs: { [MODEL.input]: [Array.from({ length: MODEL.size }, (_, i) => i / MODEL.size)] },
    });
    for (const concurrency of [1, 16]) {
      const sides: Side[] = [
        {
          label: 'AUTH_ENABLED=false',
          url: `${off.baseUrl}/api/v1/predictions`,
          headers: {},
          p50: [],
          p99: [],
          rps: [],
          errors: 0,
        },
        {
          label: 'API key (predictor, rate-limited)',
          url: `${on.baseUrl}/api/v1/predictions`,
          headers: { Authorization: `Bearer ${key}` },
          p50: [],
          p99: [],
          rps: [],
          errors: 0,
        },
        {
          label: 'ADMIN_API_KEY',
          url: `${on.baseUrl}/api/v1/predictions`,
          headers: AUTH_HEADER,
          p50: [],
          p99: [],
          rps: [],
          errors: 0,
        },
        {
          label: 'access token (JWT, admin user)',
          url: `${on.baseUrl}/api/v1/predictions`,
          headers: { Authorization: `Bearer ${token}` },
          p50: [],
          p99: [],
          rps: [],
          errors: 0,
        },
      ];
      for (let round = 0; round < ROUNDS; round++) for (const side of sides) await cell(side, body, concurrency);
      const base = median(sides[0].p50);
      for (const side of sides) {
        const p50 = median(side.p50);
        lines.push(
          row([
            concurrency,
            side.label,
            fmt(median(side.rps), 0),
            `${fmt(p50)} / ${fmt(median(side.p99))}`,
            side === sides[0] ? '-' : fmt(p50 - base),
            side.errors,
          ]),
        );
      }
    }
  } finally {
    await on.stop();
    await off.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const resolveRows = await resolveCost();
  return [
    `### Access control cost: MLP prediction, cache hit (median of ${ROUNDS} alternating ${CELL_MS} ms cells)`,
    '',
    '| concurrency | credential | req/s | p50 / p99 ms | p50 − auth off (ms) | errors |',
    '|---|---|---|---|---|---|',
    ...lines,
    '',
    '### Resolving a credential in process (µs per request, no HTTP)',
    '',
    '| credential | µs |',
    '|---|---|',
    ...resolveRows,
    '',
  ].join('\n');
}

if (require.main === module) {
  benchAuth().then(
    (text) => console.log(text),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

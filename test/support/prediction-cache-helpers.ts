import type { CacheStats } from '../../src/cache/prediction-cache.service';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { authed, startTestApp, type TestApp } from './test-app';

/** Helpers shared by the prediction cache, prediction log and Redis outage suites. */

export type Http = () => ReturnType<typeof request>;

export const httpOf =
  (t: () => TestApp): Http =>
  () =>
    authed(t());

/**
 * A model name no other test file or earlier run uses, so suites sharing one Redis never meet
 * on the fixed `modelforge:cache` namespace.
 */
export function uniqueModelName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export type CacheStatsBody = CacheStats;

export async function cacheStats(http: Http): Promise<CacheStatsBody> {
  const res = await http().get('/api/v1/cache/stats').expect(200);
  return res.body as CacheStatsBody;
}

export async function createModel(http: Http, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await http()
    .post('/api/v1/models')
    .send({ name, ...extra });
  assert.equal(res.status, 201, `create ${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
}

export async function uploadVersion(http: Http, name: string, bytes: Buffer, version: number): Promise<void> {
  const res = await http().post(`/api/v1/models/${name}/versions`).attach('file', bytes, 'model.onnx');
  assert.equal(res.status, 201, `upload to ${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.version, version);
  assert.equal(res.body.status, 'ready');
}

/** A model with one ready version. */
export async function modelWithVersion(
  http: Http,
  name: string,
  bytes: Buffer,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await createModel(http, name, extra);
  await uploadVersion(http, name, bytes, 1);
}

/** POST /api/v1/predictions with a JSON object, or a raw JSON string sent byte for byte. */
export function predict(http: Http, body: object | string, headers: Record<string, string> = {}) {
  let req = http().post('/api/v1/predictions').set('Content-Type', 'application/json');
  for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
  return req.send(typeof body === 'string' ? body : JSON.stringify(body));
}

export interface PredictionReply {
  status: number;
  xCache: string | undefined;
  xModelVersion: string | undefined;
  body: {
    model: string;
    version: number;
    cached: boolean;
    outputs: Record<string, { dtype: string; shape: number[]; data: unknown[] }>;
    timing: { totalMs: number; inferenceMs: number };
    message?: string;
  };
}

export async function predictReply(
  http: Http,
  body: object | string,
  headers: Record<string, string> = {},
): Promise<PredictionReply> {
  const res = await predict(http, body, headers);
  return {
    status: res.status,
    xCache: res.headers['x-cache'] as string | undefined,
    xModelVersion: res.headers['x-model-version'] as string | undefined,
    body: res.body as PredictionReply['body'],
  };
}

/** A successful prediction answered with the given X-Cache value (and `cached` to match). */
export async function expectPrediction(
  http: Http,
  body: object | string,
  xCache: 'HIT' | 'MISS' | 'BYPASS',
  headers: Record<string, string> = {},
  what = '',
): Promise<PredictionReply> {
  const reply = await predictReply(http, body, headers);
  const label = what ? `${what}: ` : '';
  assert.equal(reply.status, 200, `${label}prediction answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  assert.equal(reply.xCache, xCache, `${label}expected X-Cache ${xCache}, got ${reply.xCache}`);
  assert.equal(reply.body.cached, xCache === 'HIT', `${label}body.cached should be ${xCache === 'HIT'}`);
  return reply;
}

/** The value of one Prometheus sample (0 when the series does not exist yet). */
export function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) return 0;
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

export async function readMetric(http: Http, name: string): Promise<number> {
  const res = await http().get('/metrics').expect(200);
  return metricValue(res.text, name);
}

/** `rows` rows of `width` floats, distinct per `seed`. */
export function matrix(rows: number, width: number, seed: number): number[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: width }, (_, c) => Math.round(((seed * 7919 + r * 31 + c * 17) % 1000) - 500) / 100),
  );
}

/**
 * Two replicas of the service on one PostgreSQL database and one artifact directory, with the same
 * `env` (a shared REDIS_URL makes them share the cache and its generations).
 */
export async function twoReplicas(env: Record<string, string>): Promise<[TestApp, TestApp]> {
  const a = await startTestApp('postgres', { env });
  try {
    const b = await startTestApp('postgres', {
      env: {
        ...env,
        DATABASE_URL: a.config.database.url as string,
        DATABASE_MIGRATIONS_RUN: 'false',
        // replicas share the artifact store as they share the database
        DATA_DIR: a.dataDir,
      },
    });
    return [a, b];
  } catch (error) {
    await a.close();
    throw error;
  }
}

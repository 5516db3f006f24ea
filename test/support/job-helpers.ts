/**
 * Helpers for the queued jobs specs: models to submit, uploads, polling a job to an end, reading
 * every result page, streamed uploads, holding an inference worker, and Redis key prefixes that
 * keep parallel spec files apart.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Bull, { Queue } from 'bull';
import type { DataSource } from 'typeorm';
import { InferenceService } from '../../src/inference/inference.service';
import { UnprocessableError } from '../../src/common/errors';
import { TEST_ADMIN_KEY, type TestApp } from './test-app';
import { DEFAULT_WAIT_MS, waitFor } from './wait-for';
import { attr, DataType, encodeModel, graph, int64Initializer, node, seededRandom, tensorInfo } from './onnx-models';

export const REDIS_TEST_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

/** A Bull key prefix of its own for one spec file (JOBS_QUEUE_PREFIX). */
export function redisPrefix(name: string): string {
  return `mf-test-${name}-${randomBytes(4).toString('hex')}`;
}

/** The `inference` queue under a prefix, seen from the test: counts, keys, clean-up. */
export function testQueue(prefix: string): Queue {
  return new Bull('inference', REDIS_TEST_URL, { prefix });
}

/** Every Redis key under the prefix. */
export async function redisKeys(queue: Queue, prefix: string): Promise<string[]> {
  return queue.client.keys(`${prefix}:*`);
}

/** Removes every key under the prefix and closes the queue. */
export async function dropQueue(queue: Queue, prefix: string): Promise<void> {
  const keys = await redisKeys(queue, prefix);
  if (keys.length > 0) await queue.client.del(...keys);
  await queue.close();
}

/**
 * `pairsModel()`: x float32 [batch, n] -> Reshape(x, [-1, 2]) -> y float32 [batch, 2]. Any shape
 * passes the signature check, but ONNX Runtime refuses an odd number of elements at run time: an
 * instance {x: [[1, 2, 3]]} fails there while {x: [[1, 2]]} gives [[1, 2]].
 */
export function pairsModel(): Buffer {
  return encodeModel({
    graph: graph({
      name: 'pairs',
      inputs: [tensorInfo('x', DataType.FLOAT, ['batch', 'n'])],
      outputs: [tensorInfo('y', DataType.FLOAT, ['batch', 2])],
      initializers: [int64Initializer('pair_shape', [2], [-1, 2])],
      nodes: [node('Reshape', ['x', 'pair_shape'], ['y'], [attr.int('allowzero', 0)])],
    }),
  });
}

/** `count` MLP instances of `inputSize` values, deterministic, each as {x: [[...]]}. */
export function mlpInstances(count: number, inputSize = 4, seed = 11): { inputs: { x: number[][] } }[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    inputs: { x: [Array.from({ length: inputSize }, () => Math.round(random() * 1e4) / 1e3)] },
  }));
}

export interface JobBody {
  id: string;
  model: string;
  version: number;
  status: string;
  progress: { done: number; total: number; percent: number };
  attempts: number;
  error: string | null;
  errorKind: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ResultItem {
  index: number;
  outputs?: Record<string, { dtype: string; shape: number[]; data: (number | string | boolean)[] }>;
  error?: string;
  errorKind?: string;
}

type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

/** fetch against `baseUrl`, every request sending `credential` (default: the test admin key). */
export function client(baseUrl: string, credential: string = TEST_ADMIN_KEY): Fetch {
  return (path, init) => {
    const headers = new Headers(init?.headers);
    if (!headers.has('Authorization')) headers.set('Authorization', `Bearer ${credential}`);
    return fetch(`${baseUrl}${path}`, { ...init, headers });
  };
}

export async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Creates the model and uploads `bytes` as its next version. */
export async function uploadModel(http: Fetch, name: string, bytes: Buffer): Promise<void> {
  const created = await http('/api/v1/models', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  assert.ok([201, 409].includes(created.status), await created.text());
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), `${name}.onnx`);
  await json(await http(`/api/v1/models/${name}/versions`, { method: 'POST', body: form }), 201);
}

export async function submitJob(http: Fetch, body: unknown): Promise<{ res: Response; job: JobBody }> {
  const res = await http('/api/v1/jobs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { res, job: await json<JobBody>(res, 202) };
}

/** The job as GET /api/v1/jobs/{id} answers it now. */
export async function getJob(http: Fetch, id: string): Promise<JobBody> {
  return json<JobBody>(await http(`/api/v1/jobs/${id}`), 200);
}

/**
 * Polls the job until `done(job)` holds (by default: until it has ended). `timeoutMs` is only a
 * failure guard, quoting the last state seen.
 */
export async function waitForJob(
  http: Fetch,
  id: string,
  done: (job: JobBody) => boolean = (job) => ['completed', 'failed', 'cancelled'].includes(job.status),
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<JobBody> {
  let last: JobBody | undefined;
  return waitFor(
    async () => {
      last = await getJob(http, id);
      return done(last) ? last : undefined;
    },
    { what: `job ${id}`, timeoutMs, intervalMs: 25, describe: () => JSON.stringify(last) },
  );
}

/** Every result of a job, page by page. */
export async function allResults(http: Fetch, id: string): Promise<ResultItem[]> {
  const items: ResultItem[] = [];
  for (let skip = 0; ; skip += 100) {
    const page = await json<{ items: ResultItem[]; total: number }>(
      await http(`/api/v1/jobs/${id}/results?skip=${skip}&limit=100`),
      200,
    );
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

export async function countRows(ds: DataSource, table: string): Promise<number> {
  const rows: { n: number | string }[] = await ds.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0].n);
}

/** Rows in the jobs tables: a refused submission must leave these as they were. */
export async function jobRows(ds: DataSource): Promise<{ jobs: number; instances: number }> {
  return { jobs: await countRows(ds, 'jobs'), instances: await countRows(ds, 'job_instances') };
}

/** A request body produced piece by piece as fetch pulls it (sent chunked, without Content-Length). */
export function streamedBody(pieces: Iterable<string | Uint8Array>): {
  body: ReadableStream<Uint8Array>;
  sent(): number;
} {
  const iterator = pieces[Symbol.iterator]();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = iterator.next();
      if (next.done) return controller.close();
      const bytes = typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value;
      sent += bytes.byteLength;
      controller.enqueue(bytes);
    },
  });
  return { body, sent: () => sent };
}

/** POSTs an NDJSON upload (a string, or a stream sent chunked) to /api/v1/jobs?{query}. */
export function postNdjson(http: Fetch, query: string, body: string | ReadableStream<Uint8Array>): Promise<Response> {
  return http(`/api/v1/jobs?${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson' },
    body,
    duplex: 'half',
  } as RequestInit);
}

/**
 * Holds the app's inference worker (run it with INFERENCE_WORKERS=1) until `release()`: the
 * worker is asked to inspect a named pipe, and reading it waits for a writer. Requests sent to
 * the worker meanwhile queue behind it, so a test can see what waits for the worker.
 */
export function holdWorker(t: TestApp): { inference: InferenceService; release(): Promise<void> } {
  const fifo = path.join(t.dataDir, `hold-${randomBytes(4).toString('hex')}.fifo`);
  execFileSync('mkfifo', [fifo]);
  const inference = t.app.get(InferenceService);
  const held = inference.inspect({ sha256: 'held', tempPath: fifo, sizeBytes: 0 }).then(
    () => assert.fail('the held inspection accepted a non-model'),
    (error: unknown) => error,
  );
  let released: Promise<void> | undefined;
  return {
    inference,
    /** Lets the worker go on; safe to call again (from a `finally`). */
    release() {
      released ??= (async () => {
        await fs.promises.writeFile(fifo, 'not a model');
        assert.ok((await held) instanceof UnprocessableError);
        fs.rmSync(fifo, { force: true });
      })();
      return released;
    },
  };
}

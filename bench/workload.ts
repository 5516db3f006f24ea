/**
 * What the benchmark sends: the two models, prediction bodies (the same input every time, or an
 * input never seen before in this run), model setup over the API, and direct session.run.
 */
import * as ort from 'onnxruntime-node';
import { cnnModel, mlpModel } from '../test/support/onnx-models';
import { LoadResult, closedLoop } from './load';
import { AUTH_HEADER } from './processes';

/** Each closed-loop cell of the throughput tables lasts this long (after its warm-up). */
export const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);

export interface BenchModel {
  name: string;
  bytes: Buffer;
  inputName: string;
  shape: number[];
}

export const MLP: BenchModel = {
  name: 'mlp',
  bytes: mlpModel({ inputSize: 64, hidden: 256, outputSize: 10 }),
  inputName: 'x',
  shape: [1, 64],
};
export const CNN: BenchModel = {
  name: 'cnn',
  bytes: cnnModel({ channels: 3, height: 48, width: 192 }),
  inputName: 'image',
  shape: [1, 3, 48, 192],
};

function nested(shape: number[], next: () => number): unknown {
  if (shape.length === 0) return next();
  return Array.from({ length: shape[0] }, () => nested(shape.slice(1), next));
}

export function sampleValues(shape: number[]): number[] {
  const size = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => Math.round(Math.sin(i) * 1000) / 1000);
}

export function sampleInput(shape: number[]): unknown {
  const values = sampleValues(shape);
  let i = 0;
  return nested(shape, () => values[i++]);
}

/** The prediction body ModelForge gets: the same input on every request. */
export function fixedBody(model: BenchModel): string {
  return JSON.stringify({ model: model.name, inputs: { [model.inputName]: sampleInput(model.shape) } });
}

/**
 * Bodies that never repeat in this run (so the default path, cache on, always misses): the first
 * value of the tensor is a counter shared by every cell, exact in float32 up to 2^24.
 */
let distinctCounter = 0;
export function distinctBodies(model: BenchModel): () => string {
  const body = fixedBody(model);
  const at = body.indexOf('[[') + body.slice(body.indexOf('[[')).search(/[-\d]/);
  const end = at + body.slice(at).search(/[,\]]/);
  const head = body.slice(0, at);
  const tail = body.slice(end);
  return () => `${head}${++distinctCounter}${tail}`;
}

export async function directRun(model: BenchModel, concurrency: number): Promise<LoadResult> {
  const session = await ort.InferenceSession.create(model.bytes);
  const feeds = {
    [model.inputName]: new ort.Tensor('float32', Float32Array.from(sampleValues(model.shape)), model.shape),
  };
  for (let i = 0; i < 20; i++) await session.run(feeds);
  const result = await closedLoop(
    async () => {
      await session.run(feeds);
      return true;
    },
    concurrency,
    DURATION_MS,
  );
  await session.release();
  return result;
}

/** Creates the model and uploads its bytes as version 1; throws unless the upload answers 201. */
export async function upload(baseUrl: string, model: Pick<BenchModel, 'name' | 'bytes'>): Promise<void> {
  await fetch(`${baseUrl}/api/v1/models`, {
    method: 'POST',
    headers: { ...AUTH_HEADER, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: model.name }),
  });
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(model.bytes)]), `${model.name}.onnx`);
  const res = await fetch(`${baseUrl}/api/v1/models/${model.name}/versions`, {
    method: 'POST',
    headers: AUTH_HEADER,
    body: form,
  });
  if (res.status !== 201) throw new Error(`upload of ${model.name} failed: ${res.status} ${await res.text()}`);
}

/** Dynamic batching in the benchmark's batching rows: up to concurrency 16 in one run. */
export const BATCHING_SETTINGS = { enabled: true, maxBatchSize: 16, maxQueueDelayMs: 2 };

/** PATCHes the model's batching settings; anything but a 200 echoing them back fails the run. */
export async function setBatching(baseUrl: string, model: BenchModel, batching: { enabled: boolean }): Promise<void> {
  const res = await fetch(`${baseUrl}/api/v1/models/${model.name}`, {
    method: 'PATCH',
    headers: { ...AUTH_HEADER, 'Content-Type': 'application/json' },
    body: JSON.stringify({ batching }),
  });
  const text = await res.text();
  const echoed = res.status === 200 ? (JSON.parse(text) as { batching?: { enabled?: boolean } }).batching : undefined;
  if (echoed?.enabled !== batching.enabled) {
    throw new Error(
      `PATCH /api/v1/models/${model.name} ${JSON.stringify({ batching })} was refused or ignored: ` +
        `${res.status} ${text.slice(0, 500)} (BENCH_BATCHING=off skips the batching rows)`,
    );
  }
}

/** The comparison with Express measures inference, not the prediction cache. */
export const NO_CACHE = { 'Cache-Control': 'no-cache' };

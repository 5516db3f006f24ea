/**
 * Queued job throughput: a job of N instances through a spawned ModelForge (in-process runner,
 * SQLite, default JOBS_* settings) against direct `session.run` over the same instances in this
 * process, one instance per run as a script looping over its data would do it. Called by run.ts;
 * `node dist/bench/jobs.js` runs it alone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { cnnModel, mlpModel, seededRandom } from '../test/support/onnx-models';
import { freePort } from '../test/support/service-process';
import { AUTH_HEADER, startModelForge } from './processes';
import { Target, fmt, row, verdict } from './targets';
import { upload } from './workload';

/** A CNN job bigger than this is cut down (its upload alone is ~110 KB of JSON per instance). */
const CNN_MAX_INSTANCES = Number(process.env.BENCH_JOBS_CNN_MAX ?? 2_000);

interface JobModel {
  name: string;
  bytes: Buffer;
  inputName: string;
  /** Shape of one instance, leading batch dimension 1. */
  shape: number[];
  sizes: number[];
}

const MODELS: JobModel[] = [
  {
    name: 'mlp',
    bytes: mlpModel({ inputSize: 64, hidden: 256, outputSize: 10 }),
    inputName: 'x',
    shape: [1, 64],
    sizes: [1_000, 10_000],
  },
  {
    name: 'cnn',
    bytes: cnnModel(),
    inputName: 'image',
    shape: [1, 3, 48, 192],
    sizes: [1_000, 2_000],
  },
];

/** The target: a job of this many instances runs at >= 0.8x direct session.run. */
const TARGET_SIZES: Record<string, number> = { mlp: 10_000, cnn: 2_000 };
const TARGET_RATIO = 0.8;

export interface JobRow {
  model: string;
  instances: number;
  direct: number;
  processing: number;
}

const fmtRate = (n: number) => fmt(n, 0);

/** Instance `i`: deterministic values in [-1, 1) with 3 decimals. */
function instanceData(model: JobModel, i: number): Float32Array {
  const random = seededRandom(1000 + i);
  const size = model.shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, () => Math.round(random() * 1000) / 1000);
}

/** One instance per `session.run`, sequentially: the median rate of passes over at least 1 s. */
async function direct(model: JobModel, count: number): Promise<number> {
  // Every core for the one session: ONNX Runtime's default spins threads and measured unsteadily here.
  const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: os.availableParallelism() });
  const data = Array.from({ length: count }, (_, i) => instanceData(model, i));
  for (let i = 0; i < 10; i++)
    await session.run({ [model.inputName]: new ort.Tensor('float32', data[0], model.shape) });
  const rates: number[] = [];
  const until = performance.now() + 1000;
  while (rates.length < 3 || performance.now() < until) {
    const started = performance.now();
    for (const values of data) await session.run({ [model.inputName]: new ort.Tensor('float32', values, model.shape) });
    rates.push(count / ((performance.now() - started) / 1000));
  }
  await session.release();
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
}

/** The job's NDJSON body, produced line by line while it is sent. */
function ndjson(model: JobModel, count: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i >= count) {
        controller.close();
        return;
      }
      // The 3-decimal values themselves, not their float32 widening (0.123 rather than 0.12300000339746475).
      const flat = Array.from(instanceData(model, i++), (v) => Math.round(v * 1000) / 1000);
      controller.enqueue(
        encoder.encode(`${JSON.stringify({ inputs: { [model.inputName]: { shape: model.shape, data: flat } } })}\n`),
      );
    },
  });
}

interface JobTiming {
  /** Instances per second from the first claim to completion (startedAt to finishedAt). */
  processing: number;
  /** Instances per second from the first byte of the upload to completion. */
  endToEnd: number;
  submitSeconds: number;
}

async function runJob(baseUrl: string, model: JobModel, count: number): Promise<JobTiming> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/api/v1/jobs?model=${model.name}`, {
    method: 'POST',
    headers: { ...AUTH_HEADER, 'Content-Type': 'application/x-ndjson' },
    body: ndjson(model, count),
    duplex: 'half',
  } as RequestInit);
  if (res.status !== 202) throw new Error(`job submission failed: ${res.status} ${await res.text()}`);
  const submitSeconds = (performance.now() - started) / 1000;
  const { id } = (await res.json()) as { id: string };
  for (;;) {
    const job = (await (await fetch(`${baseUrl}/api/v1/jobs/${id}`, { headers: AUTH_HEADER })).json()) as {
      status: string;
      error: string | null;
      startedAt: string;
      finishedAt: string;
    };
    if (job.status === 'completed') {
      const endToEnd = count / ((performance.now() - started) / 1000);
      const seconds = (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000;
      return { processing: count / seconds, endToEnd, submitSeconds };
    }
    if (job.status !== 'queued' && job.status !== 'running') throw new Error(`job ${job.status}: ${job.error}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Adds one table row per model and size, measured on a fresh ModelForge started with `env`. */
async function measure(
  lines: string[],
  rows: JobRow[],
  dataDir: string,
  models: JobModel[],
  env: Record<string, string>,
): Promise<void> {
  const mf = await startModelForge(dataDir, await freePort(), env);
  try {
    for (const model of models) {
      await upload(mf.baseUrl, model);
      for (const requested of model.sizes) {
        const reduced = model.name === 'cnn' && requested > CNN_MAX_INSTANCES;
        const count = reduced ? CNN_MAX_INSTANCES : requested;
        const directRate = await direct(model, count);
        const job = await runJob(mf.baseUrl, model, count);
        rows.push({ model: model.name, instances: count, direct: directRate, processing: job.processing });
        const target = TARGET_SIZES[model.name] === count;
        lines.push(
          row([
            env.JOBS_CHUNK_SIZE ? `${model.name} (JOBS_CHUNK_SIZE ${env.JOBS_CHUNK_SIZE})` : model.name,
            reduced ? `${count} (of ${requested}: reduced, see note)` : count,
            fmtRate(directRate),
            fmtRate(job.processing),
            `${fmt(job.processing / directRate, 2)}x`,
            target ? `>= ${TARGET_RATIO}x: ${verdict(job.processing >= TARGET_RATIO * directRate)}` : '',
            fmtRate(job.endToEnd),
            fmt(job.submitSeconds, 1),
          ]),
        );
      }
    }
  } finally {
    await mf.stop();
  }
}

/** The job targets from the rows benchJobs measured. */
export function jobTargets(rows: JobRow[]): Target[] {
  return Object.entries(TARGET_SIZES).map(([model, instances]) => {
    const r = rows.find((candidate) => candidate.model === model && candidate.instances === instances);
    return {
      name: `Queued job, ${model} ${instances} instances: job processing / direct session.run`,
      sides: r ? `${fmtRate(r.processing)} vs ${fmtRate(r.direct)} instances/s` : 'not measured',
      value: r ? r.processing / r.direct : NaN,
      goal: `>= ${TARGET_RATIO}x`,
      met: r ? r.processing >= TARGET_RATIO * r.direct : undefined,
    };
  });
}

/** Markdown lines (a heading, a note and one table row per model and size) and the measured rows. */
export async function benchJobs(): Promise<{ lines: string[]; rows: JobRow[] }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-jobs-'));
  const lines = [
    '## Queued jobs: throughput (instances/s)',
    '',
    'A job submitted as NDJSON to ModelForge (in-process runner, SQLite, default settings unless the row ' +
      'says otherwise) against direct `session.run` in this process (intraOpNumThreads = cores), one ' +
      'instance per run. "processing" counts from the first claim to completion; "end to end" adds the ' +
      'upload, validation and storage. Both share the same cores. The target (>= 0.8x) applies to the MLP ' +
      'at 10,000 instances and the CNN at 2,000 (one CNN instance is 27,648 floats, ~180 KB of JSON).',
    '',
    row([
      'model',
      'instances',
      'direct session.run',
      'job processing',
      'ratio',
      'target',
      'job end to end',
      'upload + store (s)',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---', '---:', '---:']),
  ];
  const rows: JobRow[] = [];
  try {
    await measure(lines, rows, path.join(work, 'default'), MODELS, {});
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (MODELS.some((m) => m.name === 'cnn' && m.sizes.some((s) => s > CNN_MAX_INSTANCES))) {
    lines.push(
      '',
      `CNN jobs are capped at ${CNN_MAX_INSTANCES} instances (BENCH_JOBS_CNN_MAX): one instance is ` +
        '27,648 floats of JSON upload and stored inputs; the rate per instance does not depend on the ' +
        'count once chunks stream.',
    );
  }
  return { lines, rows };
}

if (require.main === module) {
  benchJobs()
    .then(({ lines }) => console.log(lines.join('\n')))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}

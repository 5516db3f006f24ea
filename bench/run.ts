/**
 * npm run bench: ModelForge against a hand-written Express server and direct in-process
 * session.run, all measured in this one run on this machine. Prints markdown tables.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { bucketIncrease, histogramQuantile } from '../test/support/metrics-text';
import { cnnModel, mlpModel } from '../test/support/onnx-models';
import { benchAuth } from './auth';
import { benchBodies } from './bodies';
import { benchJobs } from './jobs';
import { benchRateLimits } from './rate-limits';
import { LoadResult, percentile, runLoad } from './load';
import { AUTH_HEADER, scrapeHistogram, scrapeMetric, startExpressBaseline, startModelForge } from './processes';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const RSS_REQUESTS = Number(process.env.BENCH_RSS_REQUESTS ?? 20_000);

interface BenchModel {
  name: string;
  bytes: Buffer;
  inputName: string;
  shape: number[];
}

const MODELS: BenchModel[] = [
  { name: 'mlp', bytes: mlpModel({ inputSize: 64, hidden: 256, outputSize: 10 }), inputName: 'x', shape: [1, 64] },
  { name: 'cnn', bytes: cnnModel({ channels: 3, height: 48, width: 192 }), inputName: 'image', shape: [1, 3, 48, 192] },
];

function nested(shape: number[], next: () => number): unknown {
  if (shape.length === 0) return next();
  return Array.from({ length: shape[0] }, () => nested(shape.slice(1), next));
}

function sampleInput(shape: number[]): unknown {
  let i = 0;
  return nested(shape, () => Math.round(Math.sin(i++) * 1000) / 1000);
}

async function directRun(model: BenchModel, input: unknown, concurrency: number): Promise<LoadResult> {
  const session = await ort.InferenceSession.create(model.bytes);
  const flat = new Float32Array((JSON.stringify(input).match(/-?[\d.]+/g) ?? []).map(Number));
  const feeds = { [model.inputName]: new ort.Tensor('float32', flat, model.shape) };
  for (let i = 0; i < 20; i++) await session.run(feeds);
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + DURATION_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await session.run(feeds);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  await session.release();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors: 0,
    rps: (latencies.length / elapsed) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    stages: {},
    cache: {},
  };
}

/** Cache hit and miss throughput for the CNN (already uploaded as `cnn`) on one ModelForge. */
async function benchCache(baseUrl: string, store: string): Promise<string[]> {
  const cnn = MODELS[1];
  const body = JSON.stringify({ model: cnn.name, inputs: { [cnn.inputName]: sampleInput(cnn.shape) } });
  // Distinct inputs per request: the first value of the tensor carries the request number.
  const at = body.indexOf('[[[[') + 4;
  const end = body.indexOf(',', at);
  const distinct = (n: number) => `${body.slice(0, at)}${(n + 1) * 1e-6 + 5}${body.slice(end)}`;
  const url = `${baseUrl}/api/v1/predictions`;
  const headers = AUTH_HEADER;
  const miss = await runLoad({ url, body: distinct, headers, concurrency: 16, durationMs: DURATION_MS, warmupMs: 300 });
  await runLoad({ url, body, headers, concurrency: 1, totalRequests: 1, warmupMs: 0 });
  const hit = await runLoad({ url, body, headers, concurrency: 16, durationMs: DURATION_MS });
  const serverMs = (r: LoadResult) =>
    fmt(
      Object.values(r.stages).reduce((a, b) => a + b, 0),
      2,
    );
  const seen = (r: LoadResult) =>
    Object.entries(r.cache)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  return [
    row([
      store,
      'miss',
      fmt(miss.rps, 0),
      `${fmt(miss.p50Ms, 2)} / ${fmt(miss.p99Ms, 2)}`,
      serverMs(miss),
      seen(miss),
      '',
    ]),
    row([
      store,
      'hit',
      fmt(hit.rps, 0),
      `${fmt(hit.p50Ms, 2)} / ${fmt(hit.p99Ms, 2)}`,
      serverMs(hit),
      seen(hit),
      `${fmt(hit.rps / miss.rps, 1)}x`,
    ]),
  ];
}

async function upload(baseUrl: string, model: BenchModel): Promise<void> {
  await fetch(`${baseUrl}/api/v1/models`, {
    method: 'POST',
    headers: { ...AUTH_HEADER, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: model.name }),
  });
  const form = new FormData();
  form.append('file', new Blob([model.bytes]), `${model.name}.onnx`);
  const res = await fetch(`${baseUrl}/api/v1/models/${model.name}/versions`, {
    method: 'POST',
    headers: AUTH_HEADER,
    body: form,
  });
  if (res.status !== 201) throw new Error(`upload of ${model.name} failed: ${res.status} ${await res.text()}`);
}

/** The comparison with Express measures inference, not the prediction cache. */
const NO_CACHE = { 'Cache-Control': 'no-cache' };
/** The HTTP process' event-loop delay: a cumulative histogram in /metrics. */
const LOOP_DELAY = 'modelforge_event_loop_delay_seconds';

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-'));
  const cores = os.availableParallelism();
  console.log(`# ModelForge benchmark (${os.cpus()[0]?.model ?? 'cpu'}, ${cores} cores, Node ${process.version})\n`);
  console.log(`Each cell: ${DURATION_MS} ms of closed-loop load after a warm-up; JSON bodies on both servers.\n`);

  const throughput: string[] = [];
  const loopDelay: string[] = [];
  const breakdown: string[] = [];
  let rssRows: string[];
  const cacheRows: string[] = [];

  const mf = await startModelForge(path.join(work, 'data'), 39100);
  try {
    for (const model of MODELS) await upload(mf.baseUrl, model);
    for (const model of MODELS) {
      const input = sampleInput(model.shape);
      const modelPath = path.join(work, `${model.name}.onnx`);
      fs.writeFileSync(modelPath, model.bytes);
      const express = await startExpressBaseline(modelPath, 39101);
      try {
        for (const concurrency of [1, 16]) {
          const loopBefore = await scrapeHistogram(mf.baseUrl, LOOP_DELAY);
          await fetch(`${express.baseUrl}/stats`);
          const forge = await runLoad({
            url: `${mf.baseUrl}/api/v1/predictions`,
            body: JSON.stringify({ model: model.name, inputs: { [model.inputName]: input } }),
            headers: { ...AUTH_HEADER, ...NO_CACHE },
            concurrency,
            durationMs: DURATION_MS,
          });
          // The p99 of what the cumulative histogram recorded during the cell (bucket increase).
          const loopAfter = await scrapeHistogram(mf.baseUrl, LOOP_DELAY);
          const forgeLoop = histogramQuantile(0.99, bucketIncrease(loopBefore, loopAfter));
          const hand = await runLoad({
            url: `${express.baseUrl}/predict`,
            body: JSON.stringify({ inputs: { [model.inputName]: input } }),
            concurrency,
            durationMs: DURATION_MS,
          });
          const handStats = (await (await fetch(`${express.baseUrl}/stats`)).json()) as { eventLoopP99Ms: number };
          const direct = await directRun(model, input, concurrency);
          throughput.push(
            row([
              model.name,
              concurrency,
              fmt(forge.rps, 0),
              `${fmt(forge.p50Ms, 2)} / ${fmt(forge.p99Ms, 2)}`,
              fmt(hand.rps, 0),
              `${fmt(hand.p50Ms, 2)} / ${fmt(hand.p99Ms, 2)}`,
              fmt(direct.rps, 0),
              `${fmt(direct.p50Ms, 2)} / ${fmt(direct.p99Ms, 2)}`,
              `${fmt(forge.rps / hand.rps, 2)}x`,
              forge.errors + hand.errors,
            ]),
          );
          loopDelay.push(row([model.name, concurrency, fmt(forgeLoop * 1000, 1), fmt(handStats.eventLoopP99Ms, 1)]));
          if (concurrency === 16) {
            const s = forge.stages;
            breakdown.push(
              row([
                model.name,
                ...['receive', 'parse', 'resolve', 'validate', 'queue', 'inference', 'encode'].map((k) =>
                  fmt(s[k] ?? NaN, 3),
                ),
                fmt(forge.p50Ms, 2),
              ]),
            );
          }
        }
      } finally {
        await express.stop();
      }
    }

    cacheRows.push(...(await benchCache(mf.baseUrl, 'in-memory LRU')));
    const mlp = MODELS[0];
    const rssBefore = await scrapeMetric(mf.baseUrl, 'modelforge_process_resident_memory_bytes');
    const soak = await runLoad({
      url: `${mf.baseUrl}/api/v1/predictions`,
      body: JSON.stringify({ model: mlp.name, inputs: { [mlp.inputName]: sampleInput(mlp.shape) } }),
      headers: { ...AUTH_HEADER, ...NO_CACHE },
      concurrency: 16,
      totalRequests: RSS_REQUESTS,
      warmupMs: 0,
    });
    const rssAfter = await scrapeMetric(mf.baseUrl, 'modelforge_process_resident_memory_bytes');
    rssRows = [
      row([
        `${soak.requests} MLP predictions at concurrency 16`,
        fmt(rssBefore / 2 ** 20, 1),
        fmt(rssAfter / 2 ** 20, 1),
        `${fmt(((rssAfter - rssBefore) / rssBefore) * 100, 1)}%`,
        soak.errors,
      ]),
    ];
  } finally {
    await mf.stop();
  }
  const redisUrl = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
  const withRedis = await startModelForge(path.join(work, 'data-redis'), 39102, { REDIS_URL: redisUrl });
  try {
    await upload(withRedis.baseUrl, MODELS[1]);
    cacheRows.push(...(await benchCache(withRedis.baseUrl, 'Redis')));
  } finally {
    await withRedis.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }

  console.log('## Throughput and latency (requests/s; p50 / p99 ms)\n');
  console.log(
    row([
      'model',
      'conc.',
      'ModelForge rps',
      'ModelForge p50/p99',
      'Express rps',
      'Express p50/p99',
      'direct rps',
      'direct p50/p99',
      'MF/Express',
      'errors',
    ]),
  );
  console.log(row(Array(10).fill('---')));
  throughput.forEach((r) => console.log(r));
  console.log('\n## Event-loop delay p99 of the HTTP process under that load (ms)\n');
  console.log(row(['model', 'conc.', 'ModelForge', 'Express']));
  console.log(row(Array(4).fill('---')));
  loopDelay.forEach((r) => console.log(r));
  console.log('\n## Where ModelForge time goes at concurrency 16 (mean ms per request, from Server-Timing)\n');
  console.log(
    row(['model', 'receive', 'parse', 'resolve', 'validate', 'queue+transfer', 'inference', 'encode', 'client p50']),
  );
  console.log(row(Array(9).fill('---')));
  breakdown.forEach((r) => console.log(r));
  console.log('\n## Prediction cache, CNN at concurrency 16 (every miss has distinct inputs)\n');
  console.log(
    row([
      'store',
      'path',
      'rps',
      'client p50 / p99 ms',
      'server ms (Server-Timing sum)',
      'X-Cache seen',
      'hit/miss rps',
    ]),
  );
  console.log(row(Array(7).fill('---')));
  cacheRows.forEach((r) => console.log(r));
  console.log('\n## ModelForge resident memory (MiB)\n');
  console.log(row(['load', 'RSS before', 'RSS after', 'growth', 'errors']));
  console.log(row(Array(5).fill('---')));
  rssRows.forEach((r) => console.log(r));
  console.log('');
  console.log((await benchJobs()).join('\n'));
  console.log((await benchBodies()).join('\n'));
  console.log((await benchRateLimits()).join('\n'));
  console.log(await benchAuth());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

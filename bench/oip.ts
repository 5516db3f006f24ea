/**
 * The Open Inference Protocol rows of npm run bench (issue 12), both sides of each ratio measured
 * in this run on one ModelForge: a 1x3x640x640 FP32 input sent as JSON and as binary tensor data
 * (server time per request), the CNN with binary tensors at concurrency 16 against direct
 * session.run, and gRPC with raw contents against REST binary for both models.
 *
 * Requests are built by the tests' OIP client (test/support/oip-client.ts) and sent with
 * Cache-Control: no-cache, so every request runs the model. `npm run bench:oip` runs this part alone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inferRequest } from '../test/support/oip-client';
import { OipGrpcClient } from '../test/support/oip-grpc-client';
import { bytesOf } from '../test/support/oip-wire';
import { DataType, encodeModel, graph, node, tensorInfo } from '../test/support/onnx-models';
import { LoadResult, closedLoop, runLoad } from './load';
import { AUTH_HEADER, BENCH_ADMIN_KEY, scrapeMetric, startModelForge } from './processes';
import { Target, fmt, row, targetLines } from './targets';
import {
  BATCHING_SETTINGS,
  BenchModel,
  CNN,
  DURATION_MS,
  NO_CACHE,
  directRun,
  sampleValues,
  setBatching,
  upload,
} from './workload';

const HTTP_PORT = 39105;
const GRPC_PORT = 39106;
const CONCURRENCY = 16;

/**
 * The 1x3x640x640 FP32 input with a model that costs next to nothing (GlobalAveragePool), so the
 * server time is what the request's encoding costs, not the convolutions.
 */
const IMAGE_640: BenchModel = {
  name: 'image640',
  bytes: encodeModel({
    graph: graph({
      name: 'pooled_image',
      inputs: [tensorInfo('image', DataType.FLOAT, ['batch', 3, 640, 640])],
      outputs: [tensorInfo('pooled', DataType.FLOAT, ['batch', 3, 1, 1])],
      nodes: [node('GlobalAveragePool', ['image'], ['pooled'])],
    }),
  }),
  inputName: 'image',
  shape: [1, 3, 640, 640],
};

/** An infer request with the model's sample input, as JSON or as binary tensor data both ways. */
function oipRequest(model: BenchModel, binary: boolean) {
  return inferRequest(model.name, {
    inputs: [{ name: model.inputName, datatype: 'FP32', shape: model.shape, data: sampleValues(model.shape) }],
    binaryInputs: binary,
    binaryOutputs: binary,
    headers: { ...AUTH_HEADER, ...NO_CACHE },
  });
}

interface OipCell {
  model: string;
  side: string;
  concurrency: number;
  bodyBytes: number;
  result: LoadResult;
  /** CPU of the HTTP process per request (ms), warm-up included; undefined for direct runs. */
  serverCpuMs?: number;
}

/** Warm-up of every cell (runLoad's default, and closedLoop's here): its requests count in the CPU. */
const WARMUP_MS = 500;

/**
 * Runs a cell and measures the CPU the ModelForge HTTP process spent on it (its
 * process_cpu_seconds_total), per request: how much serving one request costs the server,
 * whatever the load generator on the same cores costs. Requests are counted at the measured
 * rate over the warm-up too.
 */
async function withServerCpu(baseUrl: string, run: () => Promise<OipCell>): Promise<OipCell> {
  const cpu = () => scrapeMetric(baseUrl, 'modelforge_process_cpu_seconds_total');
  const before = await cpu();
  const cell = await run();
  const requests = (cell.result.rps * (DURATION_MS + WARMUP_MS)) / 1000;
  return { ...cell, serverCpuMs: (((await cpu()) - before) * 1000) / requests };
}

/** Closed-loop load of one OIP REST request (the same body every time) on ModelForge. */
async function restCell(baseUrl: string, model: BenchModel, binary: boolean, concurrency: number): Promise<OipCell> {
  const request = oipRequest(model, binary);
  const result = await runLoad({
    url: `${baseUrl}${request.path}`,
    body: request.body,
    headers: request.headers,
    concurrency,
    durationMs: DURATION_MS,
  });
  const side = `OIP REST, ${binary ? 'binary tensors' : 'JSON data'}`;
  return { model: model.name, side, concurrency, bodyBytes: request.body.length, result };
}

/**
 * Closed-loop ModelInfer calls with the input in raw_input_contents, spread over `channels`
 * connections: 1 is how a gRPC application usually calls (HTTP/2 multiplexes the callers), one per
 * caller is like for like with REST's keep-alive sockets. grpc-js shares a connection between
 * clients of one address unless each asks for a local subchannel pool.
 */
async function grpcCell(model: BenchModel, concurrency: number, channels: number): Promise<OipCell> {
  const clients = Array.from(
    { length: channels },
    () => new OipGrpcClient(`127.0.0.1:${GRPC_PORT}`, BENCH_ADMIN_KEY, { 'grpc.use_local_subchannel_pool': 1 }),
  );
  const raw = bytesOf('FP32', sampleValues(model.shape));
  const request = {
    model_name: model.name,
    inputs: [{ name: model.inputName, datatype: 'FP32', shape: model.shape }],
    raw_input_contents: [raw],
  };
  const options = { metadata: { 'cache-control': 'no-cache' } };
  let calls = 0;
  try {
    const result = await closedLoop(
      () =>
        clients[calls++ % channels].modelInfer(request, options).then(
          () => true,
          () => false,
        ),
      concurrency,
      DURATION_MS,
      WARMUP_MS,
    );
    const side = `OIP gRPC, raw contents, ${channels} ${channels === 1 ? 'channel' : 'channels'}`;
    return { model: model.name, side, concurrency, bodyBytes: raw.length, result };
  } finally {
    for (const client of clients) client.close();
  }
}

/** A cell with the model's dynamic batching on (the throughput table's settings), then off again. */
async function withBatching(baseUrl: string, model: BenchModel, run: () => Promise<OipCell>): Promise<OipCell> {
  await setBatching(baseUrl, model, BATCHING_SETTINGS);
  try {
    const cell = await run();
    return { ...cell, side: `${cell.side}, batching on` };
  } finally {
    await setBatching(baseUrl, model, { enabled: false });
  }
}

const rps = (c: OipCell) => c.result.rps;
const serverCpu = (c: OipCell) => c.serverCpuMs ?? NaN;

/** Mean server time per request: the sum of the Server-Timing stages ModelForge reports. */
const serverMs = (r: LoadResult) => Object.values(r.stages).reduce((a, b) => a + b, 0);

function cellRow(c: OipCell): string {
  return row([
    c.model,
    c.concurrency,
    c.side,
    c.bodyBytes === 0 ? '' : fmt(c.bodyBytes / 2 ** 20, 2),
    fmt(c.result.rps, 0),
    `${fmt(c.result.p50Ms, 2)} / ${fmt(c.result.p99Ms, 2)}`,
    c.bodyBytes === 0 ? '' : fmt(serverMs(c.result), 2),
    Object.entries(c.result.stages)
      .map(([stage, ms]) => `${stage} ${fmt(ms, 2)}`)
      .join(', '),
    c.serverCpuMs === undefined ? '' : fmt(c.serverCpuMs, 3),
    c.result.errors,
  ]);
}

/** Both sides of a ratio target; failed requests on either side make it not met. */
function ratioTarget(name: string, goal: number, top: OipCell, bottom: OipCell, of: (c: OipCell) => number): Target {
  const value = of(top) / of(bottom);
  return {
    name,
    sides: `${fmt(of(top), 2)} vs ${fmt(of(bottom), 2)}`,
    value,
    goal: `>= ${goal}x`,
    met: top.result.errors === 0 && bottom.result.errors === 0 && value >= goal,
  };
}

type Cells = Record<
  | 'json640'
  | 'binary640'
  | 'cnnBinary'
  | 'cnnBinaryBatched'
  | 'direct'
  | 'binary640c16'
  | 'grpc640'
  | 'grpc640Shared'
  | 'grpcCnn'
  | 'grpcCnnShared',
  OipCell
>;

async function measure(baseUrl: string): Promise<Cells> {
  return {
    json640: await withServerCpu(baseUrl, () => restCell(baseUrl, IMAGE_640, false, 1)),
    binary640: await withServerCpu(baseUrl, () => restCell(baseUrl, IMAGE_640, true, 1)),
    cnnBinary: await withServerCpu(baseUrl, () => restCell(baseUrl, CNN, true, CONCURRENCY)),
    cnnBinaryBatched: await withBatching(baseUrl, CNN, () =>
      withServerCpu(baseUrl, () => restCell(baseUrl, CNN, true, CONCURRENCY)),
    ),
    direct: {
      model: CNN.name,
      side: 'direct session.run',
      concurrency: CONCURRENCY,
      bodyBytes: 0,
      result: await directRun(CNN, CONCURRENCY),
    },
    binary640c16: await withServerCpu(baseUrl, () => restCell(baseUrl, IMAGE_640, true, CONCURRENCY)),
    grpc640: await withServerCpu(baseUrl, () => grpcCell(IMAGE_640, CONCURRENCY, CONCURRENCY)),
    grpc640Shared: await withServerCpu(baseUrl, () => grpcCell(IMAGE_640, CONCURRENCY, 1)),
    grpcCnn: await withServerCpu(baseUrl, () => grpcCell(CNN, CONCURRENCY, CONCURRENCY)),
    grpcCnnShared: await withServerCpu(baseUrl, () => grpcCell(CNN, CONCURRENCY, 1)),
  };
}

function oipLines(cells: Cells): string[] {
  return [
    '## Open Inference Protocol (issue 12)',
    '',
    `Each cell: ${DURATION_MS} ms of closed-loop load, Cache-Control: no-cache, one ModelForge. ` +
      `${IMAGE_640.name}: a ${IMAGE_640.shape.join('x')} FP32 input into GlobalAveragePool (the input's encoding ` +
      'is the cost). Server ms: mean sum of the Server-Timing stages, per request (REST only). ' +
      'Body MiB: the request body (gRPC: the raw input contents).',
    '',
    row([
      'model',
      'conc.',
      'side',
      'body MiB',
      'rps',
      'client p50 / p99 ms',
      'server ms',
      'stages (mean ms)',
      'server CPU ms / req',
      'errors',
    ]),
    row(['---', '---:', '---', '---:', '---:', '---:', '---:', '---', '---:', '---:']),
    ...Object.values(cells).map(cellRow),
  ];
}

function oipTargets(c: Cells): Target[] {
  const image = IMAGE_640.shape.join('x');
  return [
    ratioTarget(
      `${image} FP32, c1: server ms per request, JSON / binary (Server-Timing sum)`,
      5,
      c.json640,
      c.binary640,
      (x) => serverMs(x.result),
    ),
    ratioTarget(
      `${image} FP32, c1: client p50 ms, JSON / binary (for comparison)`,
      5,
      c.json640,
      c.binary640,
      (x) => x.result.p50Ms,
    ),
    ratioTarget(`CNN c${CONCURRENCY}: OIP REST binary / direct session.run rps`, 0.7, c.cnnBinary, c.direct, rps),
    ratioTarget(
      `CNN c${CONCURRENCY}: OIP REST binary, batching on / direct session.run rps`,
      0.7,
      c.cnnBinaryBatched,
      c.direct,
      rps,
    ),
    ratioTarget(
      `${IMAGE_640.name} c${CONCURRENCY}: OIP gRPC raw (a channel per caller) / REST binary rps`,
      1,
      c.grpc640,
      c.binary640c16,
      rps,
    ),
    ratioTarget(
      `CNN c${CONCURRENCY}: OIP gRPC raw (a channel per caller) / REST binary rps`,
      1,
      c.grpcCnn,
      c.cnnBinary,
      rps,
    ),
    // The server's own cost per request, whatever the client's: REST's over gRPC's (>= 1x: gRPC no dearer).
    ratioTarget(
      `${IMAGE_640.name} c${CONCURRENCY}: HTTP-process CPU per request, REST binary / gRPC raw (for context)`,
      1,
      c.binary640c16,
      c.grpc640,
      serverCpu,
    ),
    ratioTarget(
      `CNN c${CONCURRENCY}: HTTP-process CPU per request, REST binary / gRPC raw (for context)`,
      1,
      c.cnnBinary,
      c.grpcCnn,
      serverCpu,
    ),
  ];
}

export async function benchOip(dataDir: string): Promise<{ lines: string[]; targets: Target[] }> {
  // The 640x640 input has 1,228,800 elements: past the default warm-up bound, which refuses the upload.
  const mf = await startModelForge(dataDir, HTTP_PORT, {
    WARMUP_MAX_ELEMENTS: String(2 * 2 ** 20),
    GRPC_PORT: String(GRPC_PORT),
  });
  try {
    for (const model of [IMAGE_640, CNN]) await upload(mf.baseUrl, model);
    const cells = await measure(mf.baseUrl);
    return { lines: oipLines(cells), targets: oipTargets(cells) };
  } finally {
    await mf.stop();
  }
}

if (require.main === module) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-oip-'));
  benchOip(path.join(work, 'data'))
    .then(({ lines, targets }) => console.log([...lines, '', ...targetLines(targets)].join('\n')))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(() => fs.rmSync(work, { recursive: true, force: true }));
}

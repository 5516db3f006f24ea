/**
 * Worker thread that owns ONNX Runtime sessions. `session.run()` blocks the thread that calls it,
 * so it only ever happens here, never on the HTTP thread. One request runs at a time per worker.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { TENSOR_DTYPES, TensorDtype, TensorSpec } from '../../models/tensor-spec';
import type { TensorData } from '../tensor';
import { InvalidInputError } from '../../common/errors';
import { decodeInputs, EncodedTensor, encodeTensor } from '../tensor-codec';
import { hashInputs } from '../tensor-hash';
import { inspectProto, ModelRejection } from './model-inspection';
import { parsePredictBody, PredictEnvelope } from './predict-envelope';
import type {
  ModelInspection,
  ModelRef,
  ParsedRequest,
  PreparedInputs,
  PredictResult,
  RunResult,
  WorkerFailure,
  WorkerRequest,
  WorkerResponse,
  WorkerSettings,
} from './protocol';

const settings = workerData as WorkerSettings;
const sessions = new Map<string, Promise<ort.InferenceSession>>();

const sessionOptions: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: settings.intraOpThreads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
  extra: { session: { intra_op: { allow_spinning: settings.spinning ? '1' : '0' } } },
};

class UnprocessableModel extends Error {}
class RejectedInput extends Error {}
class WorkerUnavailable extends Error {}

async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (error) {
    throw new UnprocessableModel(`ONNX Runtime cannot load the model: ${(error as Error).message}`);
  }
}

function session(model: ModelRef): Promise<ort.InferenceSession> {
  let pending = sessions.get(model.sha256);
  if (!pending) {
    pending = readFile(model.path).then((bytes) => createSession(bytes));
    sessions.set(model.sha256, pending);
    pending.catch(() => sessions.delete(model.sha256));
  }
  return pending;
}

function specsOf(
  metadata: readonly ort.InferenceSession.ValueMetadata[],
  dimParams: Map<string, (string | null)[]>,
): TensorSpec[] {
  return metadata.map((value) => {
    if (!value.isTensor)
      throw new UnprocessableModel(`'${value.name}' is not a tensor; only tensor inputs and outputs are served`);
    const dtype = value.type as TensorDtype;
    if (!TENSOR_DTYPES.includes(dtype))
      throw new UnprocessableModel(`'${value.name}' has unsupported type ${value.type}`);
    const names = dimParams.get(value.name);
    const shape = value.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    const dimNames = value.shape.map((d, i) => (typeof d === 'string' && d !== '' ? d : (names?.[i] ?? null)));
    return { name: value.name, dtype, shape, ...(dimNames.some((n) => n !== null) ? { dimNames } : {}) };
  });
}

/**
 * Zero-filled inputs for the warm-up run. Dynamic dimensions are 1 first; models whose graph needs
 * longer sequences (an STFT that pads by reflection, say) get further tries with the leading (batch)
 * dimension at 1 and the other dynamic dimensions at `fill`.
 */
function syntheticFeeds(specs: TensorSpec[], fill: number): Record<string, ort.Tensor> | undefined {
  const feeds: Record<string, ort.Tensor> = {};
  // A named dimension keeps one size across inputs; names that lead an input are batch-like (1).
  const batchNames = new Set(specs.map((spec) => (spec.shape.length > 1 ? spec.dimNames?.[0] : null)).filter(Boolean));
  const sizeOf = (spec: TensorSpec, i: number): number => {
    const name = spec.dimNames?.[i];
    if (name) return batchNames.has(name) ? 1 : fill;
    return i === 0 && spec.shape.length > 1 ? 1 : fill;
  };
  let total = 0;
  for (const spec of specs) {
    const dims = spec.shape.map((d, i) => (d >= 0 ? d : sizeOf(spec, i)));
    const size = dims.reduce((n, d) => n * d, 1);
    total += size;
    if (total > WARMUP_MAX_ELEMENTS) return undefined;
    feeds[spec.name] =
      spec.dtype === 'string'
        ? new ort.Tensor('string', new Array<string>(size).fill(''), dims)
        : new ort.Tensor(spec.dtype, size === 0 ? [] : new (zeroArrayFor(spec.dtype))(size), dims);
  }
  return feeds;
}

const WARMUP_FILLS = [1, 16, 256, 1024];
const WARMUP_MAX_ELEMENTS = 64 * 1024 * 1024;
const QUIET_RUN: ort.InferenceSession.RunOptions = { logSeverityLevel: 3 };

/** Runs the warm-up tries in order; answers the first failure's message when none succeeds. */
async function warmUp(session: ort.InferenceSession, inputs: TensorSpec[]): Promise<void> {
  let firstFailure: Error | undefined;
  const dynamic = inputs.some((spec) => spec.shape.some((d) => d < 0));
  for (const fill of dynamic ? WARMUP_FILLS : [1]) {
    const feeds = syntheticFeeds(inputs, fill);
    if (!feeds) break;
    try {
      await session.run(feeds, QUIET_RUN);
      return;
    } catch (error) {
      firstFailure ??= error as Error;
    }
  }
  throw new UnprocessableModel(
    `the warm-up run with synthetic inputs failed: ${firstFailure?.message ?? 'inputs too large to synthesize'}`,
  );
}

function zeroArrayFor(dtype: TensorDtype) {
  switch (dtype) {
    case 'float32':
      return Float32Array;
    case 'float64':
      return Float64Array;
    case 'int8':
      return Int8Array;
    case 'int16':
      return Int16Array;
    case 'int32':
      return Int32Array;
    case 'int64':
      return BigInt64Array;
    case 'uint16':
    case 'float16':
      return Uint16Array;
    case 'uint32':
      return Uint32Array;
    case 'uint64':
      return BigUint64Array;
    default:
      return Uint8Array;
  }
}

async function inspect(model: ModelRef): Promise<ModelInspection> {
  const bytes = await readFile(model.path);
  let facts;
  try {
    facts = inspectProto(bytes);
  } catch (error) {
    if (error instanceof ModelRejection) throw new UnprocessableModel(error.message);
    throw error;
  }
  const created = await createSession(bytes);
  const inputs = specsOf(created.inputMetadata, facts.dimParams);
  const outputs = specsOf(created.outputMetadata, facts.dimParams);
  const started = performance.now();
  try {
    await warmUp(created, inputs);
  } catch (error) {
    await created.release();
    throw error;
  }
  const warmupMs = performance.now() - started;
  // Keep the warmed session: a version committed from these bytes uses it without reloading.
  sessions.set(model.sha256, Promise.resolve(created));
  return {
    irVersion: facts.irVersion,
    opsetVersion: facts.opsetVersion,
    producerName: facts.producerName,
    producerVersion: facts.producerVersion,
    inputs,
    outputs,
    warmupMs,
  };
}

async function run(model: ModelRef, feeds: Record<string, TensorData>, outputNames?: string[]): Promise<RunResult> {
  const loadStarted = performance.now();
  const loaded = await session(model);
  const loadMs = performance.now() - loadStarted;
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(feeds)) {
    ortFeeds[name] = new ort.Tensor(tensor.dtype, tensor.data as ort.Tensor.DataType, tensor.dims);
  }
  const started = performance.now();
  let results: ort.InferenceSession.ReturnType;
  try {
    results = outputNames ? await loaded.run(ortFeeds, outputNames, QUIET_RUN) : await loaded.run(ortFeeds, QUIET_RUN);
  } catch (error) {
    // Inputs already match the signature; what is left is data the graph cannot use (a reshape, say).
    throw new RejectedInput(`ONNX Runtime rejected the inputs: ${(error as Error).message}`);
  }
  const inferenceMs = performance.now() - started;
  // fromEntries: an output named __proto__ stays an own key.
  const outputs: Record<string, TensorData> = Object.fromEntries(
    Object.entries(results).map(([name, tensor]) => [
      name,
      { dtype: tensor.type as TensorDtype, dims: [...tensor.dims], data: tensor.data as TensorData['data'] },
    ]),
  );
  return { outputs, inferenceMs, loadMs };
}

/** Parsed bodies waiting for their `predict`, by token; dropped after a minute if none comes. */
const parsed = new Map<number, { envelope: PredictEnvelope; at: number }>();
const PARSED_TTL_MS = 60_000;

function parse(token: number, body: Uint8Array): ParsedRequest {
  const started = performance.now();
  for (const [key, entry] of parsed) {
    if (started - entry.at < PARSED_TTL_MS) break;
    parsed.delete(key);
  }
  const envelope = parsePredictBody(body);
  parsed.set(token, { envelope, at: started });
  return {
    model: envelope.model,
    version: envelope.version,
    outputs: envelope.outputs,
    parseMs: performance.now() - started,
  };
}

/** Parsed bodies (from `parse`) and decoded inputs (from `prepare`) waiting for the next step. */
const prepared = new Map<number, { feeds: Record<string, TensorData>; inputHash: string; validateMs: number }>();

function takeParsedInputs(token: number | undefined, inline: Record<string, unknown> | undefined): unknown {
  if (token === undefined || inline !== undefined) return inline;
  const entry = parsed.get(token);
  parsed.delete(token);
  if (!entry) throw new WorkerUnavailable('The parsed request expired or its worker restarted; retry it');
  return entry.envelope.inputs;
}

function decode(inputs: unknown, signature: TensorSpec[], maxElements: number) {
  const started = performance.now();
  const feeds = decodeInputs(signature, inputs, maxElements);
  const inputHash = hashInputs(feeds);
  return { feeds, inputHash, validateMs: performance.now() - started };
}

async function runAndEncode(
  model: ModelRef,
  decoded: { feeds: Record<string, TensorData>; inputHash: string; validateMs: number },
  outputNames: string[] | undefined,
): Promise<PredictResult> {
  const result = await run(model, decoded.feeds, outputNames);
  const started = performance.now();
  const outputs: Record<string, EncodedTensor> = Object.fromEntries(
    Object.entries(result.outputs).map(([name, tensor]) => [name, encodeTensor(tensor)]),
  );
  const outputsJson = JSON.stringify(outputs);
  return {
    outputsJson,
    inputHash: decoded.inputHash,
    validateMs: decoded.validateMs,
    inferenceMs: result.inferenceMs,
    encodeMs: performance.now() - started,
  };
}

async function predict(request: Extract<WorkerRequest, { type: 'predict' }>): Promise<PredictResult> {
  const inputs = takeParsedInputs(request.token, request.inputs);
  const decoded = decode(inputs, request.signature, request.maxElements);
  return runAndEncode(request.model, decoded, request.outputs);
}

function prepare(request: Extract<WorkerRequest, { type: 'prepare' }>): PreparedInputs {
  const inputs = takeParsedInputs(request.inputs === undefined ? request.token : undefined, request.inputs);
  const decoded = decode(inputs, request.signature, request.maxElements);
  prepared.set(request.token, decoded);
  return { inputHash: decoded.inputHash, validateMs: decoded.validateMs };
}

function execute(request: Extract<WorkerRequest, { type: 'execute' }>): Promise<PredictResult> {
  const decoded = prepared.get(request.token);
  prepared.delete(request.token);
  if (!decoded) throw new WorkerUnavailable('The prepared request expired or its worker restarted; retry it');
  return runAndEncode(request.model, decoded, request.outputs);
}

async function unload(sha256: string): Promise<null> {
  const pending = sessions.get(sha256);
  sessions.delete(sha256);
  if (pending) await (await pending.catch(() => undefined))?.release();
  return null;
}

async function handle(
  request: WorkerRequest,
): Promise<ModelInspection | RunResult | ParsedRequest | PreparedInputs | PredictResult | null> {
  switch (request.type) {
    case 'inspect':
      return inspect(request.model);
    case 'load':
      await session(request.model);
      return null;
    case 'unload':
      return unload(request.sha256);
    case 'run':
      return run(request.model, request.feeds, request.outputs);
    case 'parse':
      return parse(request.token, request.body);
    case 'predict':
      return predict(request);
    case 'prepare':
      return prepare(request);
    case 'execute':
      return execute(request);
    case 'discard':
      parsed.delete(request.token);
      prepared.delete(request.token);
      return null;
    default:
      throw new Error(`unknown request ${request.type}`);
  }
}

function failureOf(error: unknown): WorkerFailure {
  if (error instanceof UnprocessableModel) return { kind: 'unprocessable', message: error.message };
  if (error instanceof RejectedInput) return { kind: 'invalid', message: error.message };
  if (error instanceof InvalidInputError) return { kind: 'invalid', message: error.message, details: error.details };
  if (error instanceof WorkerUnavailable) return { kind: 'unavailable', message: error.message };
  const message = (error as Error)?.message ?? String(error);
  return { kind: 'internal', message };
}

// Ending the thread while ONNX Runtime is inside run() aborts the whole process (a native
// exception escapes), so the thread only ever ends itself, between requests.
let active = 0;
let exiting = false;
let queue: Promise<unknown> = Promise.resolve();

function exitWhenIdle(): void {
  if (exiting && active === 0) process.exit(0);
}

parentPort?.on('message', (request: WorkerRequest) => {
  if (request.type === 'exit') {
    exiting = true;
    exitWhenIdle();
    return;
  }
  if (exiting) {
    const error: WorkerFailure = {
      kind: 'unavailable',
      message: 'The inference worker is restarting; retry the request',
    };
    parentPort?.postMessage({ id: request.id, ok: false, error } satisfies WorkerResponse);
    return;
  }
  active++;
  // One request at a time, in arrival order: ONNX Runtime's run() is synchronous (deferred by a
  // setImmediate), so interleaving would only blur each request's timings, not add throughput.
  queue = queue
    .then(() => handle(request))
    .then(
      (result) => parentPort?.postMessage({ id: request.id, ok: true, result } satisfies WorkerResponse),
      (error: unknown) =>
        parentPort?.postMessage({ id: request.id, ok: false, error: failureOf(error) } satisfies WorkerResponse),
    )
    .finally(() => {
      active--;
      exitWhenIdle();
    });
});

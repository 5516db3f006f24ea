/**
 * Worker thread that owns ONNX Runtime sessions. `session.run()` blocks the thread that calls it,
 * so it only ever happens here, never on the HTTP thread. One request runs at a time per worker.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { TensorDtype, TensorSpec } from '../../models/tensor-spec';
import type { TensorData } from '../tensor';
import { InvalidInputError, PayloadTooLargeError } from '../../common/errors';
import { split } from '../../jobs/batching';
import { EncodedInstances, encodeInstances } from '../../jobs/instance-encoder';
import { fromArray, fromNdjsonBatch, parseJobBytes } from '../../jobs/submission-source';
import { decodeInputs } from '../tensor-codec';
import { InferenceFailedError, inferenceFailure, OutputTooLargeError } from '../engine-errors';
import { checkOutputSize, encodeOutputs } from '../tensor-encode';
import { hashInputs } from '../tensor-hash';
import { inspectProto, ModelRejection } from './model-inspection';
import { QUIET_RUN, specsOf, warmUp } from './signature';
import { UnprocessableModel, WorkerUnavailable } from './worker-errors';
import { parsePredictBody, PredictEnvelope } from './predict-envelope';
import type {
  EncodedRun,
  ModelInspection,
  ModelRef,
  ParsedJob,
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

async function inspect(model: ModelRef, warmupMaxElements: number): Promise<ModelInspection> {
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
    await warmUp(created, inputs, warmupMaxElements);
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
    throw inferenceFailure((error as Error)?.message ?? String(error));
  }
  const inferenceMs = performance.now() - started;
  // Before anything copies the outputs (to JSON, or back to the main thread).
  checkOutputSize(results, settings.maxOutputElements);
  // fromEntries: an output named __proto__ stays an own key.
  const outputs: Record<string, TensorData> = Object.fromEntries(
    Object.entries(results).map(([name, tensor]) => [
      name,
      { dtype: tensor.type as TensorDtype, dims: [...tensor.dims], data: tensor.data as TensorData['data'] },
    ]),
  );
  return { outputs, inferenceMs, loadMs };
}

/** A job's run: outputs encoded here, one string per stacked member when `rows` is given. */
async function runEncoded(request: Extract<WorkerRequest, { type: 'runEncoded' }>): Promise<EncodedRun> {
  const { outputs } = await run(request.model, request.feeds);
  if (!request.rows) return { outputs: [encodeOutputs(outputs, settings.maxOutputElements)] };
  const members = split(outputs, request.rows);
  return { outputs: members ? members.map((member) => encodeOutputs(member, settings.maxOutputElements)) : null };
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
  const outputsJson = encodeOutputs(result.outputs, settings.maxOutputElements);
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

/** Job bodies parsed by `parseJob`, waiting for their `encodeInstances`; dropped after a minute. */
const parsedJobs = new Map<number, { instances: unknown[]; at: number }>();

function parseJob(token: number, body: Uint8Array): ParsedJob {
  const now = performance.now();
  for (const [key, entry] of parsedJobs) {
    if (now - entry.at < PARSED_TTL_MS) break;
    parsedJobs.delete(key);
  }
  const { target, instances } = parseJobBytes(body);
  parsedJobs.set(token, { instances, at: now });
  return { model: target.model, version: target.version, count: instances.length };
}

function encodeJobInstances(request: Extract<WorkerRequest, { type: 'encodeInstances' }>): EncodedInstances {
  const { source } = request;
  if ('token' in source) {
    const entry = parsedJobs.get(source.token);
    parsedJobs.delete(source.token);
    if (!entry) throw new WorkerUnavailable('The parsed job body expired or its worker restarted; submit it again');
    return encodeInstances(fromArray(entry.instances), request.signature, request.limits);
  }
  return encodeInstances(
    fromNdjsonBatch(source.lines, source.firstLine, source.firstIndex),
    request.signature,
    request.limits,
  );
}

async function unload(sha256: string): Promise<null> {
  const pending = sessions.get(sha256);
  sessions.delete(sha256);
  if (pending) await (await pending.catch(() => undefined))?.release();
  return null;
}

async function handle(
  request: WorkerRequest,
): Promise<
  | ModelInspection
  | RunResult
  | EncodedRun
  | ParsedRequest
  | PreparedInputs
  | PredictResult
  | ParsedJob
  | EncodedInstances
  | null
> {
  switch (request.type) {
    case 'inspect':
      return inspect(request.model, request.warmupMaxElements);
    case 'load':
      await session(request.model);
      return null;
    case 'unload':
      return unload(request.sha256);
    case 'run':
      return run(request.model, request.feeds, request.outputs);
    case 'runEncoded':
      return runEncoded(request);
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
      parsedJobs.delete(request.token);
      return null;
    case 'parseJob':
      return parseJob(request.token, request.body);
    case 'encodeInstances':
      return encodeJobInstances(request);
    default:
      throw new Error(`unknown request ${request.type}`);
  }
}

function failureOf(error: unknown): WorkerFailure {
  if (error instanceof UnprocessableModel) return { kind: 'unprocessable', message: error.message };
  if (error instanceof InferenceFailedError) {
    return { kind: 'inference_failed', message: error.message, internal: error.internal };
  }
  if (error instanceof OutputTooLargeError) {
    return { kind: 'output_too_large', message: error.message, details: error.details };
  }
  if (error instanceof InvalidInputError) return { kind: 'invalid', message: error.message, details: error.details };
  if (error instanceof PayloadTooLargeError) return { kind: 'too_large', message: error.message };
  if (error instanceof WorkerUnavailable) return { kind: 'unavailable', message: error.message };
  const message = (error as Error)?.message ?? String(error);
  return { kind: 'internal', message };
}

/** Encoded job instances move to the HTTP thread instead of being copied. */
function transferablesOf(result: unknown): ArrayBuffer[] {
  const data = (result as Partial<EncodedInstances> | null)?.data;
  return data instanceof ArrayBuffer ? [data] : [];
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
      (result) =>
        parentPort?.postMessage({ id: request.id, ok: true, result } satisfies WorkerResponse, transferablesOf(result)),
      (error: unknown) =>
        parentPort?.postMessage({ id: request.id, ok: false, error: failureOf(error) } satisfies WorkerResponse),
    )
    .finally(() => {
      active--;
      exitWhenIdle();
    });
});

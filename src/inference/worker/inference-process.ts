/**
 * An inference process: owns ONNX Runtime sessions, forked by the HTTP process (process-pool.ts).
 * `session.run()` blocks the thread that calls it, so it only ever happens here. One request runs
 * at a time; the HTTP process sends the next only when this one has answered, and kills this
 * process when a request passes its deadline or the process passes its memory limit. The protocol
 * is stateless (worker/protocol.ts): nothing a request leaves here outlives it except sessions.
 */
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import './float16-words';
import * as ort from 'onnxruntime-node';
import { TensorDtype } from '../tensor-spec';
import type { RawTensor, TensorData } from '../tensor';
import { jsonDataOf, rawBytesOf, tensorFromRaw } from '../tensor-wire';
import { InvalidInputError, PayloadTooLargeError } from '../../common/errors';
import { split } from '../../jobs/batching';
import { EncodedInstances, encodeInstances } from '../../jobs/instance-encoder';
import { fromArray, fromNdjsonBatch, parseJobBytes } from '../../jobs/submission-source';
import { conformInputs, LooseInputs } from '../tensor-codec';
import { InferenceFailedError, inferenceFailure, OutputTooLargeError } from '../engine-errors';
import { checkOutputSize, encodeOutputs } from '../tensor-encode';
import { inspectProto, ModelRejection } from './model-inspection';
import { QUIET_RUN, specsOf, warmUp } from './signature';
import { UnprocessableModel, WorkerUnavailable } from './worker-errors';
import { readPredictBody } from '../predict-envelope';
import { readInferRequest } from '../../oip/infer-request';
import { encodeFrame, FrameReader } from './frames';
import {
  SETTINGS_ENV,
  type EngineFailure,
  type EngineRequest,
  type EngineResponse,
  type EngineResult,
  type ModelInspection,
  type ModelRef,
  type ParsedJob,
  type EncodedOutputs,
  type ProcessSettings,
  type RawOutput,
  type RawOutputForm,
  type RunOutcome,
} from './protocol';

const settings = JSON.parse(process.env[SETTINGS_ENV] ?? '{}') as ProcessSettings;
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

/** Runs a model on typed feeds; outputs are checked against MAX_OUTPUT_ELEMENTS before any copy. */
async function infer(model: ModelRef, feeds: Record<string, TensorData>, outputNames?: string[]) {
  const loaded = await session(model);
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
  checkOutputSize(results, settings.maxOutputElements);
  // fromEntries: an output named __proto__ stays an own key.
  const outputs: Record<string, TensorData> = Object.fromEntries(
    Object.entries(results).map(([name, tensor]) => [
      name,
      { dtype: tensor.type as TensorDtype, dims: [...tensor.dims], data: tensor.data as TensorData['data'] },
    ]),
  );
  return { outputs, inferenceMs };
}

/** Checks (when given a signature), runs and encodes: one entry per stacked request with `rows`. */
async function run(request: Extract<EngineRequest, { type: 'run' }>): Promise<RunOutcome<EncodedOutputs>> {
  const validateStarted = performance.now();
  const feeds = request.signature
    ? conformInputs(request.signature, request.feeds as LooseInputs)
    : typedFeeds(request.feeds as Record<string, TensorData | RawTensor>);
  const validateMs = performance.now() - validateStarted;
  const { outputs, inferenceMs } = await infer(request.model, feeds, request.outputs);
  const encodeStarted = performance.now();
  const form = request.rawOutputs;
  const encode = (member: Record<string, TensorData>): EncodedOutputs =>
    form ? rawOutputs(member, form) : encodeOutputs(member, settings.maxOutputElements);
  let encoded: EncodedOutputs[] | null;
  if (!request.rows) encoded = [encode(outputs)];
  else {
    const members = split(outputs, request.rows);
    encoded = members ? members.map(encode) : null;
  }
  return { outputs: encoded, validateMs, inferenceMs, encodeMs: performance.now() - encodeStarted };
}

/** Feeds checked on the HTTP side: raw bytes become typed views over the frame (aligned there). */
function typedFeeds(feeds: Record<string, TensorData | RawTensor>): Record<string, TensorData> {
  const typed: Record<string, TensorData> = {};
  for (const [name, feed] of Object.entries(feeds)) {
    Object.defineProperty(typed, name, {
      value: 'bytes' in feed ? tensorFromRaw(feed) : feed,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return typed;
}

/** Each output's bytes (views, no copy), and the JSON text of those that go out as JSON. */
function rawOutputs(outputs: Record<string, TensorData>, form: RawOutputForm): RawOutput[] {
  const json = new Set(form.json);
  return Object.entries(outputs).map(([name, tensor]) => ({
    name,
    dtype: tensor.dtype,
    dims: tensor.dims,
    raw: rawBytesOf(tensor),
    ...(json.has(name) ? { json: jsonDataOf(tensor) } : {}),
  }));
}

function parseJob(body: Uint8Array): ParsedJob {
  const { target, instances } = parseJobBytes(body);
  return { model: target.model, version: target.version, count: instances.length };
}

function encodeJobInstances(request: Extract<EngineRequest, { type: 'encodeInstances' }>): EncodedInstances {
  const { source } = request;
  // A whole JSON body is parsed again here: the first parse (parseJob) only read its envelope, so
  // no process keeps a parsed body between two messages.
  const instances =
    'body' in source
      ? fromArray(parseJobBytes(source.body).instances)
      : fromNdjsonBatch(source.lines, source.firstLine, source.firstIndex);
  return encodeInstances(instances, request.signature, request.limits);
}

async function unload(sha256: string): Promise<null> {
  const pending = sessions.get(sha256);
  sessions.delete(sha256);
  if (pending) await (await pending.catch(() => undefined))?.release();
  return null;
}

async function handle(request: EngineRequest): Promise<EngineResult> {
  switch (request.type) {
    case 'inspect':
      return inspect(request.model, request.warmupMaxElements);
    case 'load':
      await session(request.model);
      return null;
    case 'unload':
      return unload(request.sha256);
    case 'decode':
      return readPredictBody(request.body, request.maxElements);
    case 'decodeOip':
      return readInferRequest(request.body, request.headerLength, { maxElements: request.maxElements });
    case 'run':
      return run(request);
    case 'parseJob':
      return parseJob(request.body);
    case 'encodeInstances':
      return encodeJobInstances(request);
    default:
      throw new Error(`unknown request ${request.type}`);
  }
}

function failureOf(error: unknown): EngineFailure {
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

let exiting = false;
let queue: Promise<unknown> = Promise.resolve();

/** Frames to and from the HTTP process, on fd 3 (see frames.ts). */
const channel = new Socket({ fd: 3, readable: true, writable: true });

/** Answers the HTTP process; once it is gone (the channel closed) there is nothing left to do. */
function reply(response: EngineResponse): void {
  if (!channel.writable) process.exit(0);
  const pieces = encodeFrame(response);
  channel.cork();
  for (let i = 0; i < pieces.length - 1; i++) channel.write(pieces[i]);
  channel.write(pieces[pieces.length - 1], (error) => {
    if (error) process.exit(0);
  });
  channel.uncork();
}

const reader = new FrameReader((message) => onRequest(message as EngineRequest));
channel.on('data', (chunk: Buffer) => reader.push(chunk));
channel.on('error', () => process.exit(0));
channel.on('close', () => process.exit(0));

function onRequest(request: EngineRequest): void {
  if (request.type === 'exit') {
    exiting = true;
    queue = queue.finally(() => process.exit(0));
    return;
  }
  if (exiting) {
    reply({
      id: request.id,
      ok: false,
      error: { kind: 'unavailable', message: 'The inference process is restarting; retry the request' },
    });
    return;
  }
  // One request at a time, in arrival order: run() is synchronous in ONNX Runtime (deferred by a
  // setImmediate), so interleaving would only blur each request's timings, not add throughput.
  queue = queue
    .then(() => handle(request))
    .then(
      (result) => reply({ id: request.id, ok: true, result }),
      (error: unknown) => reply({ id: request.id, ok: false, error: failureOf(error) }),
    );
}

/**
 * While run() is inside ONNX Runtime this process cannot see its parent go away (the disconnect
 * event waits for the run). A small thread watches the parent and ends the process when it is
 * gone, so a hung model never outlives the service as an orphan burning a core.
 */
const parent = process.ppid;
new Worker(`setInterval(() => { if (process.ppid !== ${parent}) process.kill(process.pid, 'SIGKILL'); }, 1000);`, {
  eval: true,
}).unref();

reply({ id: 0, ready: true });

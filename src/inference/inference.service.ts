import { EventEmitter } from 'node:events';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { AppConfig } from '../config/app-config';
import { ArtifactStore, StagedArtifact } from '../storage/artifact-store';
import { canBatch } from '../jobs/batching';
import { MODEL_CHANGED, ModelChangedEvent } from '../models/model-events';
import { InferencePool, PoolRequest, ProcessPool, RestartReason } from './process-pool';
import { Batchable, BatchSettings, Scheduler, WorkOptions } from './scheduler';
import type { LooseInputs } from './tensor-codec';
import type { RawTensor, TensorData } from './tensor';
import type { TensorSpec } from './tensor-spec';
import type { EncodedInstances, EncodeLimits } from '../jobs/instance-encoder';
import type { OipInferRequest } from '../oip/oip-types';
import type {
  DecodedRequest,
  EncodedOutputs,
  ModelInspection,
  NdjsonBatch,
  ParsedJob,
  RawOutput,
  RawOutputForm,
  RunOutcome,
} from './worker/protocol';

export type { RestartReason } from './process-pool';
/** What the engine's methods answer; the rest of the protocol stays inside the engine. */
export type { DecodedRequest, ModelInspection, RawOutput, RawOutputForm, RunOutcome } from './worker/protocol';

/** What the engine needs to know of a stored version. */
export interface ServableModel {
  sha256: string;
  storageKey: string;
  sizeBytes: number;
  /** The model's name, for metrics. */
  name?: string;
}

/** A version to predict with: its signature, and its model's batching when turned on. */
export interface PredictableModel extends ServableModel {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  batching?: BatchSettings & { enabled: boolean };
}

export interface EngineStatus {
  workers: number;
  alive: number;
  restarts: number;
  intraOpThreads: number;
  loadedVersions: number;
  loadedBytes: number;
  inFlight: number;
  /** Requests waiting or running, by model name. */
  queueDepth: Record<string, number>;
  /** Work waiting on this side for a free process, all kinds. */
  queued: number;
  /** Each inference process: its pid and resident memory (bytes) when known. */
  processes: { index: number; pid?: number; rssBytes?: number }[];
}

/** What the engine reports as it works, for metrics. */
export interface EngineEvents {
  /** One `run` of a model: `size` requests combined (1 without batching). */
  batch: [{ model: string; size: number }];
  restart: [{ reason: RestartReason }];
}

const INSPECT_TIMEOUT_MS = 120_000;
const PROCESS_START_WAIT_MS = 30_000;

/** Deadline `ms` from now, on the clock the scheduler uses. */
export function deadlineIn(ms: number): number {
  return performance.now() + ms;
}

/**
 * The only owner of ONNX Runtime: sessions live in inference processes (process-pool.ts), work
 * waits in the scheduler's lanes on this side (scheduler.ts). Keeps an LRU of loaded models
 * bounded by count and by bytes; each model's lane is bounded by INFERENCE_MAX_QUEUE.
 */
@Injectable()
export class InferenceService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(InferenceService.name);
  /** Batches and process restarts, for the metrics module. */
  readonly events = new EventEmitter<EngineEvents>();
  private readonly pool: InferencePool;
  private scheduler!: Scheduler;
  /** Loaded models by sha256, least recently used first (Map keeps insertion order). */
  private readonly loaded = new Map<string, ServableModel>();

  constructor(
    private readonly config: AppConfig,
    private readonly store: ArtifactStore,
    /** The inference processes: a ProcessPool unless a unit spec binds a fake at this token. */
    @Optional() pool?: InferencePool,
  ) {
    this.pool =
      pool ??
      new ProcessPool(
        config.inference.workers,
        {
          intraOpThreads: config.inference.intraOpThreads,
          spinning: config.inference.spinning,
          maxOutputElements: config.inference.maxOutputElements,
        },
        config.inference.processMaxRssBytes,
      );
  }

  /** Starts the inference processes and waits (up to PROCESS_START_WAIT_MS) until they take work. */
  async onModuleInit(): Promise<void> {
    this.pool.on('restart', (reason) => this.events.emit('restart', { reason }));
    this.pool.on('ready', (index) => void this.reloadInto(index)); // logs each failed load, never rejects
    this.scheduler = new Scheduler(this.pool, {
      onRun: (model, size) => this.events.emit('batch', { model, size }),
    });
    this.pool.start();
    const started = performance.now();
    if (await this.pool.whenReady(PROCESS_START_WAIT_MS)) {
      this.logger.log({
        msg: 'inference processes started',
        processes: this.config.inference.workers,
        intraOpThreads: this.config.inference.intraOpThreads,
        ms: Math.round(performance.now() - started),
      });
    } else {
      this.logger.error({ msg: 'inference processes did not start in time; readiness stays down until they do' });
    }
  }

  /** Work still waiting ends with 503; running work finishes (up to SHUTDOWN_GRACE_MS), then the processes end. */
  async onApplicationShutdown(): Promise<void> {
    this.scheduler?.close();
    await this.pool.stop(this.config.shutdown.graceMs);
  }

  /** Decodes, checks and loads a staged upload, then runs it once; throws UnprocessableError with the reason. */
  inspect(staged: StagedArtifact): Promise<ModelInspection> {
    return this.scheduler.submit<ModelInspection>(
      'inspect',
      {
        type: 'inspect',
        model: { sha256: staged.sha256, path: staged.tempPath },
        warmupMaxElements: this.config.inference.warmupMaxElements,
      },
      { deadline: deadlineIn(INSPECT_TIMEOUT_MS) },
    );
  }

  /** Loads a model into every process and marks it most recently used. */
  async load(model: ServableModel): Promise<void> {
    this.touch(model);
    const path = await this.store.localPath(model.storageKey);
    await this.broadcast((index) => this.pool.send(index, { type: 'load', model: { sha256: model.sha256, path } }));
  }

  /** Releases a model's sessions in every process. */
  async unload(sha256: string): Promise<void> {
    this.loaded.delete(sha256);
    await this.broadcast((index) => this.pool.send(index, { type: 'unload', sha256 }));
  }

  /**
   * A registry write left artifacts that no version uses: their sessions go, and on the other
   * replicas (the writer's store removes its own) the local copy of a remote store's file too.
   */
  @OnEvent(MODEL_CHANGED)
  async onModelChanged(event: ModelChangedEvent): Promise<void> {
    for (const sha256 of event.released) {
      try {
        await this.unload(sha256);
        if (event.fromReplica) await this.store.dropLocalCopy(sha256);
      } catch (error) {
        this.logger.warn({ msg: 'could not unload a released model', sha256, err: (error as Error).message });
      }
    }
  }

  /**
   * Parses a large prediction body and reads its inputs in an inference process, so large JSON
   * never blocks the HTTP thread. Nothing stays behind there: the inputs come back.
   */
  decode(body: Uint8Array, deadline: number): Promise<DecodedRequest> {
    return this.scheduler.submit<DecodedRequest>(
      'decode',
      { type: 'decode', body, maxElements: this.config.inference.maxTensorElements },
      { deadline },
    );
  }

  /**
   * Reads a large Open Inference Protocol infer body in an inference process, like `decode`: its
   * JSON parsed and every value put into bytes there. The inputs come back as bytes.
   */
  decodeOip(body: Uint8Array, headerLength: string | undefined, deadline: number): Promise<OipInferRequest> {
    return this.scheduler.submit<OipInferRequest>(
      'decode',
      { type: 'decodeOip', body, headerLength, maxElements: this.config.inference.maxTensorElements },
      { deadline },
    );
  }

  /**
   * Checks inputs read from a request against the version's signature, runs the model and
   * encodes the outputs: one message to one process, batched with other requests of the same
   * version when the model's batching is on.
   *
   * `shadow`: a shadow run (traffic policy `shadow`), in a background lane of its own per model
   * file, bounded by SHADOW_MAX_IN_FLIGHT. Admission never waits: a full lane rejects at once
   * (TooManyRequestsError), which the caller counts as a dropped mirror. Served work is always
   * sent first and keeps a process of its own (Scheduler, `background`).
   */
  async predict(
    model: PredictableModel,
    inputs: LooseInputs,
    outputs: string[] | undefined,
    deadline: number,
    shadow = false,
  ): Promise<RunOutcome> {
    return this.submitRun(
      model,
      { feeds: inputs, signature: model.inputs, outputs },
      { deadline, batch: batchableOf(model, inputs, outputs) },
      shadow,
    );
  }

  /**
   * Runs inputs already checked against the signature on the HTTP side (the Open Inference
   * Protocol's: raw little-endian bytes, or strings) and answers each output as raw bytes, with
   * the JSON text of those named in `form.json`. Batched like `predict` when every input is raw;
   * `shadow` as in `predict`.
   */
  async predictRaw(
    model: PredictableModel,
    feeds: Record<string, RawTensor | TensorData>,
    outputs: string[] | undefined,
    form: RawOutputForm,
    deadline: number,
    shadow = false,
  ): Promise<RunOutcome<RawOutput[]>> {
    return this.submitRun<RawOutput[]>(
      model,
      { feeds, outputs, rawOutputs: form },
      { deadline, batch: rawBatchableOf(model, feeds, outputs) },
      shadow,
    );
  }

  /**
   * Runs typed feeds (a job's chunk) and encodes the outputs as JSON in the process: one string
   * per entry of `rows` when the feeds stack that many instances' rows (null when the outputs do
   * not split back into them), else one string.
   */
  async runEncoded(
    model: ServableModel,
    feeds: Record<string, TensorData>,
    rows: number[] | undefined,
    deadline: number,
  ): Promise<RunOutcome> {
    return this.submitRun(model, { feeds, rows }, { deadline });
  }

  /**
   * A `run` in the model's lane, bounded by INFERENCE_MAX_QUEUE, or a shadow run in its shadow
   * lane, bounded by SHADOW_MAX_IN_FLIGHT; marks the model recently used.
   */
  private async submitRun<T extends EncodedOutputs = string>(
    model: ServableModel,
    run: Omit<Extract<PoolRequest, { type: 'run' }>, 'type' | 'model'>,
    options: Pick<WorkOptions, 'deadline' | 'batch'>,
    shadow = false,
  ): Promise<RunOutcome<T>> {
    const path = await this.store.localPath(model.storageKey);
    this.touch(model);
    const { maxQueue, shadowMaxInFlight } = this.config.inference;
    return this.scheduler.submit<RunOutcome<T>>(
      shadow ? shadowLane(model.sha256) : model.sha256,
      { type: 'run', model: { sha256: model.sha256, path }, ...run },
      shadow
        ? { ...options, maxQueue: shadowMaxInFlight, model: model.name, background: true }
        : { ...options, maxQueue, model: model.name },
    );
  }

  /** Parses a raw JSON job body in an inference process for its envelope. */
  parseJob(body: Uint8Array): Promise<ParsedJob> {
    return this.scheduler.submit<ParsedJob>(
      'jobs',
      { type: 'parseJob', body },
      { deadline: deadlineIn(this.config.inference.timeoutMs) },
    );
  }

  /**
   * Checks job instances against the signature and encodes them for storage, in an inference
   * process: those of a whole JSON body, or a batch of raw NDJSON lines.
   */
  encodeInstances(
    source: { body: Uint8Array } | NdjsonBatch,
    signature: TensorSpec[],
    limits: EncodeLimits,
  ): Promise<EncodedInstances> {
    return this.scheduler.submit<EncodedInstances>(
      'jobs',
      { type: 'encodeInstances', source, signature, limits },
      { deadline: deadlineIn(this.config.inference.timeoutMs) },
    );
  }

  isLoaded(sha256: string): boolean {
    return this.loaded.has(sha256);
  }

  status(): EngineStatus {
    let loadedBytes = 0;
    for (const model of this.loaded.values()) loadedBytes += model.sizeBytes;
    return {
      workers: this.config.inference.workers,
      alive: this.pool.alive,
      restarts: this.pool.restartCount,
      intraOpThreads: this.config.inference.intraOpThreads,
      loadedVersions: this.loaded.size,
      loadedBytes,
      inFlight: this.pool.inFlight,
      queueDepth: this.scheduler.depthByModel(),
      queued: this.scheduler.waiting,
      processes: this.pool.describe(),
    };
  }

  /** Ends one process after its current request; it is replaced. */
  recycleWorker(index: number): Promise<void> {
    return this.pool.recycle(index);
  }

  private async broadcast(send: (index: number) => Promise<unknown>): Promise<void> {
    const sends: Promise<unknown>[] = [];
    for (let index = 0; index < this.pool.size; index++) if (this.pool.isReady(index)) sends.push(send(index));
    await Promise.all(sends);
  }

  private touch(model: ServableModel): void {
    this.loaded.delete(model.sha256);
    this.loaded.set(model.sha256, model);
    this.evictBeyondLimits(model.sha256);
  }

  /** Unloads least recently used models that have nothing waiting, until within both limits. */
  private evictBeyondLimits(keep: string): void {
    const budget = this.config.inference.memoryBudgetBytes;
    const busy = this.scheduler.busyLanes();
    let bytes = 0;
    for (const model of this.loaded.values()) bytes += model.sizeBytes;
    for (const [sha, model] of this.loaded) {
      const overCount = this.loaded.size > this.config.inference.maxLoadedVersions;
      const overBytes = budget > 0 && bytes > budget;
      if (!overCount && !overBytes) break;
      if (sha === keep || busy.has(sha) || busy.has(shadowLane(sha))) continue;
      bytes -= model.sizeBytes;
      this.logger.log({ msg: 'unloading least recently used model', sha256: sha });
      this.unload(sha).catch((error: Error) =>
        this.logger.warn({ msg: 'unload failed', sha256: sha, err: error.message }),
      );
    }
  }

  private async reloadInto(index: number): Promise<void> {
    if (this.config.inference.load !== 'eager') return;
    for (const model of this.loaded.values()) {
      try {
        const path = await this.store.localPath(model.storageKey);
        await this.pool.send(index, { type: 'load', model: { sha256: model.sha256, path } });
      } catch (error) {
        this.logger.warn({
          msg: 'reload after a process restart failed',
          sha256: model.sha256,
          err: (error as Error).message,
        });
      }
    }
  }
}

/** The scheduler lane of a model file's shadow runs. */
function shadowLane(sha256: string): string {
  return `shadow:${sha256}`;
}

/**
 * How a request joins others under dynamic batching: only when the model's batching is on, its
 * signature batches (every input and output has a dynamic first dimension), and every input was
 * sent as numbers with one shared, non-zero first dimension.
 */
function batchableOf(
  model: PredictableModel,
  inputs: LooseInputs,
  outputs: string[] | undefined,
): Batchable | undefined {
  const parts: BatchPart[] = [];
  for (const [name, tensor] of Object.entries(inputs)) {
    if (tensor.problem !== undefined || !(tensor.data instanceof Float64Array)) return undefined;
    parts.push({ name, dims: tensor.dims, type: JSON.stringify(tensor.declared ?? null) });
  }
  return batchable(model, parts, inputs, JSON.stringify(outputs ?? null));
}

/**
 * The same rule for inputs sent as raw bytes (every input raw, no strings). The outputs' form does
 * not part requests: a batch renders JSON text for every output a member wants as JSON.
 */
function rawBatchableOf(
  model: PredictableModel,
  feeds: Record<string, RawTensor | TensorData>,
  outputs: string[] | undefined,
): Batchable | undefined {
  const parts: BatchPart[] = [];
  for (const [name, feed] of Object.entries(feeds)) {
    if (!('bytes' in feed)) return undefined;
    parts.push({ name, dims: feed.dims, type: feed.dtype });
  }
  const raw = feeds as Record<string, RawTensor>;
  return batchable(model, parts, raw, `${JSON.stringify(outputs ?? null)}#raw`);
}

interface BatchPart {
  name: string;
  dims: number[];
  /** What must match besides the trailing dims (a declared dtype, a raw dtype). */
  type: string;
}

function batchable(
  model: PredictableModel,
  parts: BatchPart[],
  feeds: Batchable['feeds'],
  outputsKey: string,
): Batchable | undefined {
  if (!model.batching?.enabled || !canBatch(model.inputs, model.outputs) || parts.length === 0) return undefined;
  const rows = parts[0].dims[0];
  const keys: string[] = [];
  for (const part of [...parts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (part.dims.length === 0 || part.dims[0] !== rows || rows < 1) return undefined;
    keys.push(`${part.name.length}:${part.name}|${part.type}|${part.dims.slice(1).join('x')}`);
  }
  if (rows > model.batching.maxBatchSize) return undefined;
  return { key: `${keys.join(';')}#${outputsKey}`, rows, feeds, settings: model.batching };
}

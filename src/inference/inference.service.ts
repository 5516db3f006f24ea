import { EventEmitter } from 'node:events';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { TooManyRequestsError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ArtifactStore, StagedArtifact } from '../storage/artifact-store';
import { TensorData } from './tensor';
import { WorkerPool } from './worker-pool';
import type { TensorSpec } from '../models/tensor-spec';
import type { EncodedInstances, EncodeLimits } from '../jobs/instance-encoder';
import type {
  EncodedRun,
  ModelInspection,
  NdjsonBatch,
  ParsedJob,
  ParsedRequest,
  PreparedInputs,
  PredictResult,
  RunResult,
} from './worker/protocol';

/** Where a parsed prediction body waits: the worker that parsed it and its token there. */
export interface ParsedHandle {
  worker: number;
  token: number;
}

/** What the engine needs to know of a stored version. */
export interface ServableModel {
  sha256: string;
  storageKey: string;
  sizeBytes: number;
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
  /** Each inference process: its pid and resident memory (bytes) when known. */
  processes: { index: number; pid?: number; rssBytes?: number }[];
}

/** Why an inference process was replaced. */
export type RestartReason = 'crash' | 'timeout' | 'memory' | 'recycle';

/** What the engine reports as it works, for metrics. */
export interface EngineEvents {
  /** One `run` of a model: `size` requests combined (1 without batching). */
  batch: [{ model: string; size: number }];
  restart: [{ reason: RestartReason }];
}

const INSPECT_TIMEOUT_MS = 120_000;

/**
 * The only owner of ONNX Runtime: sessions live in worker threads (see worker/inference-worker.ts).
 * Keeps an LRU of loaded models bounded by count and by bytes, and a bounded queue per model.
 */
@Injectable()
export class InferenceService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(InferenceService.name);
  /** Batches and process restarts, for the metrics module. */
  readonly events = new EventEmitter<EngineEvents>();
  private pool!: WorkerPool;
  /** Loaded models by sha256, least recently used first (Map keeps insertion order). */
  private readonly loaded = new Map<string, ServableModel>();
  private readonly waiting = new Map<string, number>();
  private nextToken = 1;

  constructor(
    private readonly config: AppConfig,
    private readonly store: ArtifactStore,
  ) {}

  onModuleInit(): void {
    this.pool = new WorkerPool(
      this.config.inferenceWorkers,
      {
        intraOpThreads: this.config.intraOpThreads,
        spinning: this.config.inferenceSpinning,
        maxOutputElements: this.config.maxOutputElements,
      },
      (index) => void this.reloadInto(index),
    );
    this.pool.start();
    this.logger.log({
      msg: 'inference workers started',
      workers: this.config.inferenceWorkers,
      intraOpThreads: this.config.intraOpThreads,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.stop(this.config.shutdownGraceMs);
  }

  /** Decodes, checks and loads a staged upload, then runs it once; throws UnprocessableError with the reason. */
  inspect(staged: StagedArtifact): Promise<ModelInspection> {
    return this.pool.request<ModelInspection>(
      {
        type: 'inspect',
        model: { sha256: staged.sha256, path: staged.tempPath },
        warmupMaxElements: this.config.warmupMaxElements,
      },
      INSPECT_TIMEOUT_MS,
    );
  }

  /** Loads a model into every worker and marks it most recently used. */
  async load(model: ServableModel): Promise<void> {
    this.touch(model);
    await this.pool.broadcast({
      type: 'load',
      model: { sha256: model.sha256, path: await this.store.localPath(model.storageKey) },
    });
  }

  /** Releases a model's sessions in every worker. */
  async unload(sha256: string): Promise<void> {
    this.loaded.delete(sha256);
    await this.pool.broadcast({ type: 'unload', sha256 });
  }

  /**
   * Parses a raw prediction body in a worker, so large JSON never blocks the HTTP thread. The
   * worker keeps the parsed inputs for `predictParsed`, which must follow (or `discardParsed`).
   */
  async parseRequest(body: Uint8Array): Promise<{ handle: ParsedHandle; request: ParsedRequest }> {
    const worker = this.pool.pick();
    const token = this.nextToken++;
    const request = await this.pool.request<ParsedRequest>(
      { type: 'parse', token, body },
      this.config.inferenceTimeoutMs,
      worker,
    );
    return { handle: { worker: worker as number, token }, request };
  }

  /**
   * Checks inputs against the signature, runs the model and encodes the outputs, all in a worker.
   * `source` is a body parsed there earlier, or inputs parsed here (small bodies).
   */
  predictParsed(
    source: ParsedHandle | { inputs: Record<string, unknown> },
    model: ServableModel & { inputs: TensorSpec[] },
    outputs?: string[],
  ): Promise<PredictResult> {
    const handle = 'token' in source ? source : undefined;
    return this.withQueueSlot(model, async () =>
      this.pool.request<PredictResult>(
        {
          type: 'predict',
          ...(handle ? { token: handle.token } : { inputs: (source as { inputs: Record<string, unknown> }).inputs }),
          model: { sha256: model.sha256, path: await this.store.localPath(model.storageKey) },
          signature: model.inputs,
          outputs,
          maxElements: this.config.maxTensorElements,
        },
        this.config.inferenceTimeoutMs,
        handle?.worker,
      ),
    );
  }

  /**
   * Validates and hashes inputs in a worker, keeping the decoded tensors there for `execute`
   * (the cache is consulted in between). Follow with `execute` or `discardParsed`.
   */
  async prepare(
    source: ParsedHandle | { inputs: Record<string, unknown> },
    model: { inputs: TensorSpec[] },
  ): Promise<{ handle: ParsedHandle; prepared: PreparedInputs }> {
    const handle = 'token' in source ? source : { worker: this.pool.pick() as number, token: this.nextToken++ };
    const prepared = await this.pool.request<PreparedInputs>(
      {
        type: 'prepare',
        token: handle.token,
        ...('token' in source ? {} : { inputs: source.inputs }),
        signature: model.inputs,
        maxElements: this.config.maxTensorElements,
      },
      this.config.inferenceTimeoutMs,
      handle.worker,
    );
    return { handle, prepared };
  }

  /** Runs inputs kept by `prepare` and encodes the outputs. */
  execute(handle: ParsedHandle, model: ServableModel, outputs?: string[]): Promise<PredictResult> {
    return this.withQueueSlot(model, async () =>
      this.pool.request<PredictResult>(
        {
          type: 'execute',
          token: handle.token,
          model: { sha256: model.sha256, path: await this.store.localPath(model.storageKey) },
          outputs,
        },
        this.config.inferenceTimeoutMs,
        handle.worker,
      ),
    );
  }

  /** Drops a parsed body that will not be predicted (the version did not resolve, say). */
  discardParsed(handle: ParsedHandle): void {
    this.pool.request({ type: 'discard', token: handle.token }, undefined, handle.worker).catch(() => undefined);
  }

  /**
   * Parses a raw JSON job body in a worker, which keeps its instances for `encodeInstances` (or
   * `discardParsed`). The body's buffer moves to the worker when it holds it alone.
   */
  async parseJob(body: Uint8Array): Promise<{ handle: ParsedHandle; job: ParsedJob }> {
    const worker = this.pool.pick();
    const token = this.nextToken++;
    const job = await this.pool.request<ParsedJob>(
      { type: 'parseJob', token, body },
      this.config.inferenceTimeoutMs,
      worker,
    );
    return { handle: { worker: worker as number, token }, job };
  }

  /**
   * Checks job instances against the signature and encodes them for storage, in a worker: those
   * of a body parsed by `parseJob`, or a batch of raw NDJSON lines (whose buffer moves there).
   */
  encodeInstances(
    source: ParsedHandle | NdjsonBatch,
    signature: TensorSpec[],
    limits: EncodeLimits,
  ): Promise<EncodedInstances> {
    return this.pool.request<EncodedInstances>(
      { type: 'encodeInstances', source: 'token' in source ? { token: source.token } : source, signature, limits },
      this.config.inferenceTimeoutMs,
      'token' in source ? source.worker : undefined,
    );
  }

  async run(model: ServableModel, feeds: Record<string, TensorData>, outputs?: string[]): Promise<RunResult> {
    return this.withQueueSlot(model, async () =>
      this.pool.request<RunResult>(
        {
          type: 'run',
          model: { sha256: model.sha256, path: await this.store.localPath(model.storageKey) },
          feeds,
          outputs,
        },
        this.config.inferenceTimeoutMs,
      ),
    );
  }

  /**
   * Runs a job's feeds and encodes the outputs as JSON in the worker, so no output of any size is
   * serialized on this thread: one string per entry of `rows` when the feeds stack that many
   * instances' rows (null when the outputs do not split back into them), else one string.
   */
  async runEncoded(model: ServableModel, feeds: Record<string, TensorData>, rows?: number[]): Promise<EncodedRun> {
    return this.withQueueSlot(model, async () =>
      this.pool.request<EncodedRun>(
        {
          type: 'runEncoded',
          model: { sha256: model.sha256, path: await this.store.localPath(model.storageKey) },
          feeds,
          rows,
        },
        this.config.inferenceTimeoutMs,
      ),
    );
  }

  /** Bounded queue per model: past INFERENCE_MAX_QUEUE waiting or running, 429 with Retry-After. */
  private async withQueueSlot<T>(model: ServableModel, work: () => Promise<T>): Promise<T> {
    const waiting = this.waiting.get(model.sha256) ?? 0;
    if (waiting >= this.config.inferenceMaxQueue) {
      throw new TooManyRequestsError(
        `This model already has ${waiting} requests waiting or running (INFERENCE_MAX_QUEUE); retry shortly`,
        1,
      );
    }
    this.waiting.set(model.sha256, waiting + 1);
    try {
      this.touch(model);
      return await work();
    } finally {
      const left = (this.waiting.get(model.sha256) ?? 1) - 1;
      if (left === 0) this.waiting.delete(model.sha256);
      else this.waiting.set(model.sha256, left);
    }
  }

  isLoaded(sha256: string): boolean {
    return this.loaded.has(sha256);
  }

  status(): EngineStatus {
    let loadedBytes = 0;
    for (const model of this.loaded.values()) loadedBytes += model.sizeBytes;
    return {
      workers: this.config.inferenceWorkers,
      alive: this.pool.alive,
      restarts: this.pool.restartCount,
      intraOpThreads: this.config.intraOpThreads,
      loadedVersions: this.loaded.size,
      loadedBytes,
      inFlight: this.pool.inFlight,
      queueDepth: {},
      processes: [],
    };
  }

  /** Ends one worker after its current run; requests queued on it fail with 503 and it is replaced. */
  recycleWorker(index: number): Promise<void> {
    return this.pool.recycle(index);
  }

  private touch(model: ServableModel): void {
    this.loaded.delete(model.sha256);
    this.loaded.set(model.sha256, model);
    this.evictBeyondLimits(model.sha256);
  }

  /** Unloads least recently used models that have nothing waiting, until within both limits. */
  private evictBeyondLimits(keep: string): void {
    const budget = this.config.inferenceMemoryBudgetBytes;
    let bytes = 0;
    for (const model of this.loaded.values()) bytes += model.sizeBytes;
    for (const [sha, model] of this.loaded) {
      const overCount = this.loaded.size > this.config.maxLoadedVersions;
      const overBytes = budget > 0 && bytes > budget;
      if (!overCount && !overBytes) break;
      if (sha === keep || this.waiting.has(sha)) continue;
      bytes -= model.sizeBytes;
      this.logger.log({ msg: 'unloading least recently used model', sha256: sha });
      this.unload(sha).catch((error: Error) =>
        this.logger.warn({ msg: 'unload failed', sha256: sha, err: error.message }),
      );
    }
  }

  private async reloadInto(index: number): Promise<void> {
    if (this.config.inferenceLoad !== 'eager') return;
    for (const model of this.loaded.values()) {
      try {
        const path = await this.store.localPath(model.storageKey);
        await this.pool.request({ type: 'load', model: { sha256: model.sha256, path } }, undefined, index);
      } catch (error) {
        this.logger.warn({
          msg: 'reload after worker restart failed',
          sha256: model.sha256,
          err: (error as Error).message,
        });
      }
    }
  }
}

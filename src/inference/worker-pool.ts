import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import {
  InvalidInputError,
  PayloadTooLargeError,
  TimeoutError,
  UnavailableError,
  UnprocessableError,
} from '../common/errors';
import { InferenceFailedError, OutputTooLargeError } from './engine-errors';
import { NumericArray, TensorData } from './tensor';
import type { WorkerFailure, WorkerRequest, WorkerResponse, WorkerSettings } from './worker/protocol';

const WORKER_SCRIPT = path.join(__dirname, 'worker', 'inference-worker.js');

type Pending = {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
};

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type PoolRequest = DistributiveOmit<WorkerRequest, 'id'>;

class PooledWorker {
  readonly pending = new Map<number, Pending>();
  constructor(
    readonly index: number,
    readonly thread: Worker,
  ) {}
}

function toError(failure: WorkerFailure): Error {
  if (failure.kind === 'unprocessable') return new UnprocessableError(failure.message);
  if (failure.kind === 'invalid') return new InvalidInputError(failure.message, failure.details);
  if (failure.kind === 'inference_failed') return new InferenceFailedError(failure.message, failure.internal ?? '');
  if (failure.kind === 'output_too_large') return new OutputTooLargeError(failure.message, failure.details);
  if (failure.kind === 'too_large') return new PayloadTooLargeError(failure.message);
  if (failure.kind === 'unavailable') return new UnavailableError(failure.message, 1);
  return new Error(`inference worker error: ${failure.message}`);
}

/** A byte array that fills its ArrayBuffer alone can move to a worker; a view into a shared one is copied. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer[] {
  const { buffer } = bytes;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength
    ? [buffer]
    : [];
}

/** Buffers of input tensors and raw job bytes move to the worker instead of being copied. */
function transferablesOf(request: PoolRequest): ArrayBuffer[] {
  if (request.type === 'parseJob' || request.type === 'parse') return ownBuffer(request.body);
  if (request.type === 'encodeInstances') return 'lines' in request.source ? ownBuffer(request.source.lines) : [];
  if (request.type !== 'run' && request.type !== 'runEncoded') return [];
  const buffers = new Set<ArrayBuffer>();
  for (const tensor of Object.values(request.feeds) as TensorData[]) {
    const data = tensor.data as NumericArray;
    if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer && data.byteLength === data.buffer.byteLength) {
      buffers.add(data.buffer);
    }
  }
  return [...buffers];
}

/**
 * A fixed set of worker threads. Requests go to the worker with the fewest in flight; a worker that
 * dies fails its in-flight requests with 503 and is replaced.
 */
export class WorkerPool {
  private readonly logger = new Logger(WorkerPool.name);
  private readonly workers: (PooledWorker | undefined)[] = [];
  private nextId = 1;
  private stopping = false;
  private restarts = 0;

  constructor(
    private readonly size: number,
    private readonly settings: WorkerSettings,
    /** Called after a replacement worker starts, so loaded models can be loaded again. */
    private readonly onReplaced: (index: number) => void = () => undefined,
  ) {}

  start(): void {
    for (let i = 0; i < this.size; i++) this.spawn(i);
  }

  get alive(): number {
    return this.workers.filter(Boolean).length;
  }

  get restartCount(): number {
    return this.restarts;
  }

  get inFlight(): number {
    return this.workers.reduce((n, w) => n + (w?.pending.size ?? 0), 0);
  }

  /** Sends to the least busy worker (or the given one). */
  request<T>(request: PoolRequest, timeoutMs?: number, workerIndex?: number): Promise<T> {
    const worker = workerIndex === undefined ? this.leastBusy() : this.workers[workerIndex];
    if (!worker) return Promise.reject(new UnavailableError('No inference worker is running', 1));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { resolve: resolve as (value: unknown) => void, reject };
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          worker.pending.delete(id);
          reject(new TimeoutError(`Inference did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      worker.pending.set(id, entry);
      worker.thread.postMessage({ ...request, id }, transferablesOf(request));
    });
  }

  /** Sends the same request to every live worker. */
  async broadcast(request: PoolRequest): Promise<void> {
    await Promise.all(this.workers.map((w, i) => (w ? this.request(request, undefined, i) : undefined)));
  }

  /**
   * Ends one worker after its current run, as a crash between requests would: requests queued
   * behind it fail with 503 and a replacement starts (which also returns native memory).
   */
  async recycle(index: number): Promise<void> {
    const worker = this.workers[index];
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.thread.once('exit', () => resolve()));
    worker.thread.postMessage({ id: 0, type: 'exit' } satisfies WorkerRequest);
    await exited;
  }

  /** Lets running requests finish (up to `graceMs`), then ends every worker. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const live = this.workers.filter((w): w is PooledWorker => Boolean(w));
    await Promise.all(
      live.map(async (worker) => {
        const exited = new Promise<void>((resolve) => worker.thread.once('exit', () => resolve()));
        worker.thread.postMessage({ id: 0, type: 'exit' } satisfies WorkerRequest);
        const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') await worker.thread.terminate();
      }),
    );
  }

  /** The index of the worker with the fewest requests in flight, to pin related requests to it. */
  pick(): number | undefined {
    return this.leastBusy()?.index;
  }

  private leastBusy(): PooledWorker | undefined {
    let best: PooledWorker | undefined;
    for (const worker of this.workers) {
      if (worker && (!best || worker.pending.size < best.pending.size)) best = worker;
    }
    return best;
  }

  private spawn(index: number): void {
    const thread = new Worker(WORKER_SCRIPT, { workerData: this.settings });
    const worker = new PooledWorker(index, thread);
    this.workers[index] = worker;
    thread.on('message', (response: WorkerResponse) => {
      const entry = worker.pending.get(response.id);
      if (!entry) return; // timed out already
      worker.pending.delete(response.id);
      if (entry.timer) clearTimeout(entry.timer);
      if (response.ok) entry.resolve(response.result);
      else entry.reject(toError(response.error));
    });
    thread.on('error', (error) =>
      this.logger.error({ msg: 'inference worker failed', worker: index, err: error.message }),
    );
    thread.on('exit', (code) => {
      if (this.workers[index] === worker) this.workers[index] = undefined;
      for (const entry of worker.pending.values()) {
        if (entry.timer) clearTimeout(entry.timer);
        entry.reject(new UnavailableError('The inference worker stopped while running this request; retry it', 1));
      }
      worker.pending.clear();
      if (this.stopping) return;
      this.restarts++;
      this.logger.warn({ msg: 'inference worker exited; starting a replacement', worker: index, code });
      this.spawn(index);
      this.onReplaced(index);
    });
  }
}

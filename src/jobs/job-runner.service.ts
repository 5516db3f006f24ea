import type { TensorSpec } from '../inference/tensor-spec';
import { Injectable, Logger } from '@nestjs/common';
import { DomainError, TimeoutError } from '../common/errors';
import { internalDetail, SafeError, toSafeError } from '../common/safe-error';
import { AppConfig } from '../config/app-config';
import { ServableVersionsService } from '../models/servable-versions.service';
import type { PreparedInstance } from './batching';
import { ChunkExecutor, InstanceOutcome } from './chunk-executor';
import { decodeInstance } from './instance-codec';
import { JobHooks } from './job-hooks';
import { JobMetrics } from './job-metrics';
import { JobStore } from './job-store';

/** How one attempt at a job ended; the queue in charge decides what follows. */
export type AttemptOutcome =
  /** Every instance has a result. */
  | { kind: 'completed' }
  | { kind: 'cancelled' }
  /** Nothing to do: the job is gone, finished, or owned by another attempt. */
  | { kind: 'skipped' }
  /** The process is stopping: progress is saved and the job is queued again. */
  | { kind: 'released' }
  /** The attempt failed; run the job again after `delayMs` (it resumes where it stopped). */
  | { kind: 'retry'; delayMs: number; error: string }
  /** The attempt failed and no attempt is left: the job is failed. */
  | { kind: 'failed'; error: string };

/** A failure that no retry can fix (what the job needs is gone): the job fails at once. */
class PermanentJobError extends DomainError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/** Raw instance errors logged per chunk; the rest are counted. */
const LOGGED_INSTANCE_ERRORS = 3;

/**
 * Runs jobs, one attempt at a time, for both queues (Bull and in-process). An attempt claims the
 * job, then runs it chunk by chunk from `done`: each chunk's results and the new `done` are saved
 * in one transaction under the attempt's lease. Between chunks it checks for cancellation, its
 * timeout (JOBS_TIMEOUT_MS per attempt) and shutdown, which releases the job for another worker.
 */
@Injectable()
export class JobRunnerService {
  private readonly logger = new Logger(JobRunnerService.name);
  private stopping = false;
  private readonly active = new Set<Promise<AttemptOutcome>>();

  constructor(
    private readonly config: AppConfig,
    private readonly store: JobStore,
    private readonly executor: ChunkExecutor,
    private readonly metrics: JobMetrics,
    private readonly hooks: JobHooks,
    private readonly versions: ServableVersionsService,
  ) {}

  /** Attempts running in this process. */
  get running(): number {
    return this.active.size;
  }

  runAttempt(jobId: string): Promise<AttemptOutcome> {
    const attempt: Promise<AttemptOutcome> = this.attempt(jobId).finally(() => this.active.delete(attempt));
    this.active.add(attempt);
    return attempt;
  }

  /** From now on every attempt releases its job at the next chunk boundary; resolves when all have. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.active]);
  }

  /** Backoff before retry number `failures`: JOBS_BACKOFF_MS, doubling each time. */
  backoffMs(failures: number): number {
    return this.config.jobs.backoffMs * 2 ** Math.max(0, failures - 1);
  }

  /** The queue gave up on a job (Bull: stalled more often than allowed); fail it unless finished. */
  async failFromQueue(jobId: string, reason: string): Promise<void> {
    if (await this.store.failUnfinished(jobId, toSafeError(new Error(reason), `job id ${jobId}`))) {
      this.metrics.jobEvent('failed');
      this.logger.warn({ msg: 'job failed by the queue', jobId, reason });
    }
  }

  private async attempt(jobId: string): Promise<AttemptOutcome> {
    if (this.stopping) return { kind: 'released' };
    const lease = await this.store.claim(jobId);
    if (!lease) return { kind: 'skipped' };
    try {
      return await this.runChunks(jobId, lease);
    } catch (error) {
      return this.failed(jobId, lease, error as Error);
    }
  }

  /**
   * The chunk loop, pipelined: while chunk k runs in the inference workers, chunk k+1 is read
   * and decoded and chunk k-1 is saved. Saves stay in order (each moves `done` from where the
   * previous one left it), and every exit waits for the save in flight, so a chunk that ran is
   * never lost by a cancel, a release or a failure.
   */
  private async runChunks(jobId: string, lease: string): Promise<AttemptOutcome> {
    const job = await this.store.find(jobId);
    if (!job) return { kind: 'skipped' };
    const version = job.modelVersionId ? await this.versions.byId(job.modelVersionId) : null;
    if (!version) {
      throw new PermanentJobError(`Version ${job.version} of '${job.modelName}' was deleted before the job finished`);
    }
    const deadline = Date.now() + this.config.jobs.timeoutMs;
    const { total } = job;
    const chunk = chunkSizeFor(version.inputs, this.config.jobs.chunkSize);
    const load = (from: number) => this.load(jobId, from, Math.min(total, from + chunk));
    let saving: Promise<boolean> = Promise.resolve(true);
    let prefetch: Promise<PreparedInstance[]> | undefined;
    this.logger.log({ msg: 'job attempt started', jobId, done: job.done, total });
    try {
      for (let from = job.done; ;) {
        const control = await this.store.control(jobId);
        if (!control || control.lease !== lease || control.status !== 'running') return { kind: 'skipped' };
        const stop = control.cancelRequested || from >= total || this.stopping;
        if (stop && !(await saving)) return { kind: 'skipped' };
        if (control.cancelRequested) return this.end(jobId, lease, 'cancelled');
        if (from >= total) return this.end(jobId, lease, 'completed');
        if (this.stopping) return this.release(jobId, lease, from);
        if (Date.now() > deadline) {
          throw new TimeoutError(`The attempt exceeded JOBS_TIMEOUT_MS (${this.config.jobs.timeoutMs} ms)`);
        }
        await this.hooks.beforeChunk(jobId, Math.floor(from / chunk), job.attempts);
        const instances = await (prefetch ?? load(from));
        if (instances.length === 0) throw new PermanentJobError(`The stored instances of job ${jobId} are missing`);
        const to = from + instances.length;
        prefetch = to < total ? load(to) : undefined;
        const outcomes = await this.executor.run(version, instances, deadline);
        if (!(await saving)) return { kind: 'skipped' };
        saving = this.save(jobId, lease, from, outcomes);
        from = to;
      }
    } finally {
      prefetch?.catch(() => undefined);
      await saving.catch(() => false);
    }
  }

  /** Instances from `from` on: up to `to`, or fewer once they hold CHUNK_BYTE_BUDGET together. */
  private async load(jobId: string, from: number, to: number): Promise<PreparedInstance[]> {
    const rows = await this.store.instances(jobId, from, to, CHUNK_BYTE_BUDGET);
    return rows.map((row) => ({ index: row.index, feeds: decodeInstance(row, { adopt: true }) }));
  }

  private async save(jobId: string, lease: string, from: number, outcomes: InstanceOutcome[]): Promise<boolean> {
    const saved = await this.store.saveChunk(jobId, lease, from, outcomes);
    if (saved) {
      const failed = outcomes.filter((o) => o.error !== undefined);
      this.metrics.instances(outcomes.length - failed.length, failed.length);
      this.logInstanceErrors(jobId, failed);
    }
    return saved;
  }

  /** Clients see an instance's safe error; what it hides goes to the log, a few per chunk. */
  private logInstanceErrors(jobId: string, failed: InstanceOutcome[]): void {
    const hidden = failed.filter((o) => o.internal !== undefined);
    for (const outcome of hidden.slice(0, LOGGED_INSTANCE_ERRORS)) {
      this.logger.warn({
        msg: 'job instance failed',
        jobId,
        index: outcome.index,
        kind: outcome.error?.kind,
        err: outcome.internal,
        ...(hidden.length > LOGGED_INSTANCE_ERRORS ? { similarInChunk: hidden.length } : {}),
      });
    }
  }

  private async release(jobId: string, lease: string, done: number): Promise<AttemptOutcome> {
    await this.store.release(jobId, lease);
    this.metrics.jobEvent('released');
    this.logger.log({ msg: 'job released at shutdown', jobId, done });
    return { kind: 'released' };
  }

  private async end(jobId: string, lease: string, status: 'completed' | 'cancelled'): Promise<AttemptOutcome> {
    if (!(await this.store.finish(jobId, lease, status))) return { kind: 'skipped' };
    this.metrics.jobEvent(status);
    this.logger.log({ msg: `job ${status}`, jobId });
    return { kind: status };
  }

  private async failed(jobId: string, lease: string, error: Error): Promise<AttemptOutcome> {
    const safe: SafeError = toSafeError(error, `job id ${jobId}`);
    const { message } = safe;
    // The raw text (a stack, SQL, ONNX Runtime's words) stays in this log, under the job id.
    const err = internalDetail(error) ?? message;
    const maxFailures = error instanceof PermanentJobError ? 1 : this.config.jobs.attempts;
    const recorded = await this.store.recordFailure(jobId, lease, safe, maxFailures);
    if (!recorded) return { kind: 'skipped' };
    if (recorded.final) {
      this.metrics.jobEvent('failed');
      this.logger.warn({ msg: 'job failed', jobId, failures: recorded.failures, kind: safe.kind, err });
      return { kind: 'failed', error: message };
    }
    this.metrics.jobEvent('retried');
    const delayMs = this.backoffMs(recorded.failures);
    this.logger.warn({
      msg: 'job attempt failed; will retry',
      jobId,
      failures: recorded.failures,
      delayMs,
      kind: safe.kind,
      err,
    });
    return { kind: 'retry', delayMs, error: message };
  }
}

/** Elements one chunk may hold across its instances' inputs (16 MiB of float32). */
const CHUNK_ELEMENT_BUDGET = 4 * 1024 * 1024;
/**
 * Stored bytes one chunk may hold: the element budget sizes chunks from the signature, where a
 * dynamic dimension counts as 1, so instances far larger than that end a chunk early here.
 */
const CHUNK_BYTE_BUDGET = 4 * CHUNK_ELEMENT_BUDGET;

/**
 * Instances per chunk: JOBS_CHUNK_SIZE at most, fewer when instances are large, so a chunk of
 * image inputs stays a few megabytes while a small model gets chunks long enough to amortize the
 * per-chunk transaction. Dynamic dimensions count as 1 (an instance is usually one row).
 */
export function chunkSizeFor(inputs: readonly TensorSpec[], maxInstances: number): number {
  const perInstance = inputs.reduce((sum, spec) => sum + spec.shape.reduce((n, d) => n * Math.max(1, d), 1), 0);
  return Math.max(1, Math.min(maxInstances, Math.floor(CHUNK_ELEMENT_BUDGET / Math.max(1, perInstance))));
}

import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { JobMetrics } from '../job-metrics';
import { AttemptOutcome, JobRunnerService } from '../job-runner.service';
import { JobStore } from '../job-store';
import { JobQueue, QueueStats } from './job-queue';

/**
 * The queue without Redis: jobs wait in memory and run in this process, JOBS_CONCURRENCY at a
 * time, with the same attempts, backoff, cancellation and chunked progress as with Bull. Memory is
 * not the source of truth: at start every job the database has queued or running is queued again
 * and resumes from its last saved chunk. One process per database (two would both resume them).
 */
@Injectable()
export class InProcessJobQueue extends JobQueue implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(InProcessJobQueue.name);
  private readonly waiting: string[] = [];
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly active = new Set<string>();
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly store: JobStore,
    private readonly runner: JobRunnerService,
    private readonly metrics: JobMetrics,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const unfinished = await this.store.unfinished();
    for (const jobId of unfinished) this.push(jobId);
    if (unfinished.length > 0) this.logger.log({ msg: 'resuming unfinished jobs', count: unfinished.length });
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    this.waiting.length = 0;
    await this.runner.stop();
  }

  enqueue(jobId: string): Promise<void> {
    this.push(jobId);
    return Promise.resolve();
  }

  remove(jobId: string): Promise<void> {
    const at = this.waiting.indexOf(jobId);
    if (at >= 0) this.waiting.splice(at, 1);
    clearTimeout(this.retries.get(jobId));
    this.retries.delete(jobId);
    return Promise.resolve();
  }

  stats(): Promise<QueueStats> {
    return Promise.resolve({
      runner: 'in-process',
      waiting: this.waiting.length,
      delayed: this.retries.size,
      active: this.active.size,
      runningHere: this.runner.running,
      instancesPerSecond: this.metrics.instancesPerSecond(),
    });
  }

  private push(jobId: string): void {
    if (this.stopping || this.waiting.includes(jobId) || this.active.has(jobId)) return;
    this.waiting.push(jobId);
    this.pump();
  }

  private pump(): void {
    while (!this.stopping && this.active.size < this.config.jobs.concurrency && this.waiting.length > 0) {
      const jobId = this.waiting.shift() as string;
      this.active.add(jobId);
      this.runner
        .runAttempt(jobId)
        .then(
          (outcome) => this.after(jobId, outcome),
          (error: Error) => {
            // The database failed under the attempt: try again later, like a failed attempt.
            this.logger.warn({ msg: 'job attempt could not run', jobId, err: error.message });
            this.after(jobId, { kind: 'retry', delayMs: this.runner.backoffMs(1), error: error.message });
          },
        )
        .finally(() => {
          this.active.delete(jobId);
          this.pump();
        });
    }
  }

  private after(jobId: string, outcome: AttemptOutcome): void {
    if (outcome.kind !== 'retry' || this.stopping) return;
    const timer = setTimeout(() => {
      this.retries.delete(jobId);
      this.push(jobId);
    }, outcome.delayMs);
    this.retries.set(jobId, timer);
  }
}

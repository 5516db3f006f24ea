import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bull';
import { UnavailableError } from '../../common/errors';
import { withTimeout } from '../../common/timeout';
import { JobMetrics } from '../job-metrics';
import { JobRunnerService } from '../job-runner.service';
import { JobStore } from '../job-store';
import { INFERENCE_QUEUE, InferenceJobPayload, jobOptions } from './bull-settings';
import { JobQueue, QueueStats } from './job-queue';

/** Longest a request waits on Redis before answering 503. */
const REDIS_TIMEOUT_MS = 5_000;

/** Work on Redis, or 503 once it has not answered within REDIS_TIMEOUT_MS. */
function answered<T>(work: Promise<T>, what: string): Promise<T> {
  return withTimeout(work, REDIS_TIMEOUT_MS, () => new UnavailableError(`${what} timed out: Redis did not answer`, 5));
}

/**
 * Producer side of the Bull queue `inference` (the consumer is InferenceProcessor, registered only
 * where APP_ROLE runs jobs). At start it re-adds jobs the database still owes but Redis lost
 * (a Redis without persistence restarted, or a crash between the insert and the add).
 */
@Injectable()
export class BullJobQueue extends JobQueue implements OnApplicationBootstrap {
  private readonly logger = new Logger(BullJobQueue.name);

  constructor(
    @InjectQueue(INFERENCE_QUEUE) private readonly queue: Queue<InferenceJobPayload>,
    private readonly store: JobStore,
    private readonly runner: JobRunnerService,
    private readonly metrics: JobMetrics,
  ) {
    super();
    // Without a listener an 'error' event would throw; Redis outages show in readiness instead.
    this.queue.on('error', (error: Error) => this.logger.warn({ msg: 'Bull queue error', err: error.message }));
  }

  onApplicationBootstrap(): void {
    // In the background: a Redis that is down must not hold up the start (readiness reports it).
    void this.reconcile(); // logs its own failure, never rejects
  }

  private async reconcile(): Promise<void> {
    try {
      let restored = 0;
      for (const jobId of await this.store.unfinished()) {
        if (await answered(this.queue.getJob(jobId), 'Reading the job')) continue;
        await answered(this.queue.add({ jobId }, jobOptions(jobId)), 'Queueing the job');
        restored++;
      }
      if (restored > 0) this.logger.log({ msg: 'jobs missing from Redis queued again', restored });
    } catch (error) {
      this.logger.warn({ msg: 'could not reconcile jobs with Redis', err: (error as Error).message });
    }
  }

  async enqueue(jobId: string): Promise<void> {
    this.failFastWhenDisconnected();
    try {
      await answered(this.queue.add({ jobId }, jobOptions(jobId)), 'Queueing the job');
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw new UnavailableError(`The job queue is unavailable: ${(error as Error).message}`, 5);
    }
  }

  async remove(jobId: string): Promise<void> {
    try {
      const job = await answered(this.queue.getJob(jobId), 'Reading the job');
      // A job a worker holds is locked and stays; that worker sees the cancel or delete itself.
      await job?.remove();
    } catch {
      // best effort: the database already says what happens to the job
    }
  }

  async stats(): Promise<QueueStats> {
    this.failFastWhenDisconnected();
    const counts = await answered(this.queue.getJobCounts(), 'Reading queue counts');
    return {
      runner: 'bull',
      waiting: counts.waiting + ((counts as { paused?: number }).paused ?? 0),
      delayed: counts.delayed,
      active: counts.active,
      runningHere: this.runner.running,
      instancesPerSecond: this.metrics.instancesPerSecond(),
    };
  }

  /** While ioredis is reconnecting, commands would wait in its offline queue: answer 503 at once. */
  private failFastWhenDisconnected(): void {
    const status = this.queue.client.status;
    if (status === 'reconnecting' || status === 'end' || status === 'close') {
      throw new UnavailableError(`The job queue is unavailable: Redis connection is ${status}`, 5);
    }
  }
}

import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { AppConfig } from '../../config/app-config';
import { JobRunnerService } from '../job-runner.service';
import { INFERENCE_QUEUE, InferenceJobPayload, JobFailedFinally, RequeueJob } from './bull-settings';

/**
 * The Bull consumer, registered where APP_ROLE runs jobs (worker, all): JOBS_CONCURRENCY jobs at
 * once, each handed to JobRunnerService. What the attempt answers becomes Bull's verdict: done,
 * re-queued after a delay (a failed attempt, or at once when released at shutdown), or failed.
 *
 * Shutdown: the queue stops taking jobs, every running attempt finishes its chunk, saves it and
 * releases the job, which goes straight back to `wait` for another worker. A worker killed
 * outright (SIGKILL, OOM) stops renewing its lock; another worker's stalled check re-queues the
 * job within JOBS_LOCK_MS + JOBS_LOCK_MS, and it resumes from its last saved chunk.
 */
@Injectable()
export class InferenceProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(InferenceProcessor.name);

  constructor(
    @InjectQueue(INFERENCE_QUEUE) private readonly queue: Queue<InferenceJobPayload>,
    private readonly runner: JobRunnerService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.on('failed', (job: Job<InferenceJobPayload> | null, error: Error | undefined) => {
      // Bull gave up for good (stalled too often, or an unexpected error too often). An event
      // handler has no caller: a database that cannot record it is logged, not left unhandled.
      if (!job?.finishedOn) return;
      this.runner.failFromQueue(job.data.jobId, messageOf(error)).catch((failure: unknown) =>
        this.logger.error({
          msg: 'could not mark a job failed by the queue',
          jobId: job.data.jobId,
          err: messageOf(failure),
        }),
      );
    });
    this.queue
      .process(this.config.jobs.concurrency, (job: Job<InferenceJobPayload>) => this.process(job))
      // Bull rejects with nothing at all when the queue closes while it starts.
      .catch((error: unknown) => this.logger.error({ msg: 'Bull processor stopped', err: messageOf(error) }));
    this.logger.log({
      msg: 'processing queued jobs',
      queue: INFERENCE_QUEUE,
      concurrency: this.config.jobs.concurrency,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.queue.pause(true, true).catch(() => undefined);
    await this.runner.stop();
  }

  async process(job: Job<InferenceJobPayload>): Promise<void> {
    const outcome = await this.runner.runAttempt(job.data.jobId);
    switch (outcome.kind) {
      case 'released':
        throw new RequeueJob(0, 'released at worker shutdown');
      case 'retry':
        throw new RequeueJob(outcome.delayMs, outcome.error);
      case 'failed':
        throw new JobFailedFinally(outcome.error);
      default:
        return;
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

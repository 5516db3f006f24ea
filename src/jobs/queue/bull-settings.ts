import type { AdvancedSettings, JobOptions } from 'bull';
import type { AppConfig } from '../../config/app-config';

export const INFERENCE_QUEUE = 'inference';
const BACKOFF_STRATEGY = 'modelforge';

/** A Bull job carries only the id of the job row (which is also the Bull job id). */
export interface InferenceJobPayload {
  jobId: string;
}

/** Thrown by the processor so that Bull re-queues the job after `delayMs` (0: at once, another worker). */
export class RequeueJob extends Error {
  constructor(
    readonly delayMs: number,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown by the processor when the job row is failed for good: Bull keeps it failed. */
export class JobFailedFinally extends Error {}

/**
 * Attempts are counted in the jobs table (failures), not by Bull: a release at shutdown must not
 * use up an attempt. So Bull may retry a job (almost) forever, and the backoff strategy decides
 * from the processor's error: RequeueJob gives its delay, JobFailedFinally stops, and any other
 * error (the database unreachable, say) backs off exponentially up to JOBS_ATTEMPTS times.
 */
export function bullSettings(config: AppConfig): AdvancedSettings {
  const { lockMs, attempts, backoffMs } = config.jobs;
  return {
    lockDuration: lockMs,
    lockRenewTime: Math.floor(lockMs / 2),
    // A killed worker's job is back in `wait` within lockMs + stalledInterval.
    stalledInterval: lockMs,
    // Each stall is a worker that died with the job; past JOBS_ATTEMPTS of them the job fails.
    maxStalledCount: attempts,
    backoffStrategies: {
      [BACKOFF_STRATEGY]: (attemptsMade: number, error?: Error) => {
        if (error instanceof RequeueJob) return error.delayMs;
        if (error instanceof JobFailedFinally) return -1;
        return attemptsMade < attempts ? backoffMs * 2 ** Math.max(0, attemptsMade - 1) : -1;
      },
    },
  };
}

export function jobOptions(jobId: string): JobOptions {
  return {
    jobId,
    attempts: Number.MAX_SAFE_INTEGER,
    backoff: { type: BACKOFF_STRATEGY },
    removeOnComplete: true,
    // Failed entries stay for the dashboard (the jobs table has the reason either way).
    removeOnFail: 1000,
  };
}

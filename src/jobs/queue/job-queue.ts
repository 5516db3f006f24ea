/** Queue figures for /health/ready details and metrics. */
export interface QueueStats {
  runner: 'bull' | 'in-process';
  /** Jobs waiting to start (Bull: in Redis, for every worker; in-process: in this process). */
  waiting: number;
  /** Jobs waiting for a retry after a failed attempt. */
  delayed: number;
  /** Jobs being run (Bull: by any worker). */
  active: number;
  /** Attempts running in this process. */
  runningHere: number;
  /** Instances per second this process ran over the last minute. */
  instancesPerSecond: number;
}

/**
 * Where jobs wait to be run: Bull on Redis when REDIS_URL is set, or an in-process runner. The
 * jobs table stays the source of truth; a queue entry carries only the job id.
 */
export abstract class JobQueue {
  /** Hands a stored job to the queue; throws UnavailableError when the queue cannot take it. */
  abstract enqueue(jobId: string): Promise<void>;
  /** Takes a job out of the queue if it has not started (best effort; the database decides). */
  abstract remove(jobId: string): Promise<void>;
  /** Throws when the queue's backend is unreachable. */
  abstract stats(): Promise<QueueStats>;
}

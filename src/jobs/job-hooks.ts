import { Injectable } from '@nestjs/common';

/**
 * A seam for tests at each chunk boundary of a job attempt; in production it does nothing.
 * Tests replace `beforeChunk` to hold an attempt until they release it, or to fail it on demand,
 * so that no test has to guess how long a job takes.
 */
@Injectable()
export class JobHooks {
  /**
   * Called before chunk `chunkIndex` (counted from the job's first instance) is loaded and run
   * in attempt number `attempt` (1 for the first). A rejection fails the attempt like any other
   * failure: it is retried after the backoff while attempts are left.
   */
  beforeChunk(_jobId: string, _chunkIndex: number, _attempt: number): Promise<void> {
    return Promise.resolve();
  }
}

import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withTimeout } from '../../common/timeout';
import type { JobQueue } from './job-queue';

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Readiness check `queue`, with the queue's figures in the details. A Redis the queue cannot reach
 * makes it `degraded`, not down: predictions still work, so the process stays in rotation (as with
 * the cache), while job submissions answer 503 themselves.
 */
export async function queueHealth(queue: JobQueue, indicators: HealthIndicatorService): Promise<HealthIndicatorResult> {
  const check = indicators.check('queue');
  try {
    const stats = await withTimeout(
      queue.stats(),
      CHECK_TIMEOUT_MS,
      () => new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`),
    );
    return check.up({ ...stats });
  } catch (error) {
    return check.degraded({ message: `The job queue is unreachable: ${(error as Error).message}` });
  }
}

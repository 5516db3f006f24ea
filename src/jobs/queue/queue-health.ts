import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { JobQueue } from './job-queue';

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Readiness check `queue`, with the queue's figures in the details. A Redis the queue cannot reach
 * makes it `degraded`, not down: predictions still work, so the process stays in rotation (as with
 * the cache), while job submissions answer 503 themselves.
 */
export async function queueHealth(queue: JobQueue, indicators: HealthIndicatorService): Promise<HealthIndicatorResult> {
  const check = indicators.check('queue');
  let timer: NodeJS.Timeout | undefined;
  try {
    const stats = await Promise.race([
      queue.stats(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return check.up({ ...stats });
  } catch (error) {
    return check.degraded({ message: `The job queue is unreachable: ${(error as Error).message}` });
  } finally {
    clearTimeout(timer);
  }
}

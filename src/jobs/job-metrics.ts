import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';

/** Seconds over which instances per second are averaged for /health/ready. */
export const THROUGHPUT_WINDOW_S = 60;

/**
 * Job counters in /metrics (modelforge_job_instances_total by outcome: its rate is instances per
 * second; modelforge_jobs_total by event) and a sliding per-second window of instances run by this
 * process, for the readiness details.
 */
@Injectable()
export class JobMetrics {
  /** Instances finished in each of the last THROUGHPUT_WINDOW_S seconds, by epoch second. */
  private readonly perSecond = new Map<number, number>();

  constructor(private readonly metrics: MetricsService) {}

  jobEvent(event: 'submitted' | 'completed' | 'failed' | 'cancelled' | 'retried' | 'released'): void {
    this.metrics.increment('jobs_total', 'Queued inference jobs by event', { event });
  }

  instances(ok: number, failed: number): void {
    if (ok > 0) this.metrics.increment('job_instances_total', 'Job instances run, by outcome', { outcome: 'ok' }, ok);
    if (failed > 0) {
      this.metrics.increment('job_instances_total', 'Job instances run, by outcome', { outcome: 'error' }, failed);
    }
    const second = Math.floor(Date.now() / 1000);
    this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + ok + failed);
    for (const key of this.perSecond.keys()) if (key <= second - THROUGHPUT_WINDOW_S) this.perSecond.delete(key);
  }

  /** Instances per second run by this process over the last minute. */
  instancesPerSecond(): number {
    const since = Math.floor(Date.now() / 1000) - THROUGHPUT_WINDOW_S;
    let total = 0;
    for (const [second, count] of this.perSecond) if (second > since) total += count;
    return Math.round((total / THROUGHPUT_WINDOW_S) * 100) / 100;
  }
}

import { Histogram, Registry } from 'prom-client';

/** How often the loop is sampled: the delay is how late a timer of this period fires. */
export const LOOP_RESOLUTION_MS = 10;

/** Fine around 20 ms (the benchmark's target for the p99), coarse beyond 100 ms. */
export const LOOP_DELAY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1,
  2.5, 5, 10,
];

/**
 * modelforge_event_loop_delay_seconds: a cumulative histogram of how late a 10 ms timer fires on
 * the HTTP thread, the same measure as perf_hooks' monitorEventLoopDelay (which keeps only
 * percentiles, so its window would have to be reset by someone: a scrape that resets it hides
 * the stall from every other scraper). A stall of 300 ms is one sample of about 0.3 s.
 */
export class EventLoopDelay {
  private readonly histogram: Histogram;
  private readonly timer: NodeJS.Timeout;
  private scheduledAt = process.hrtime.bigint();

  constructor(registry: Registry) {
    this.histogram = new Histogram({
      name: 'modelforge_event_loop_delay_seconds',
      help: `Event-loop delay of the HTTP thread: how late a ${LOOP_RESOLUTION_MS} ms timer fires`,
      buckets: LOOP_DELAY_BUCKETS,
      registers: [registry],
    });
    this.timer = setTimeout(() => this.tick(), LOOP_RESOLUTION_MS).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private tick(): void {
    const now = process.hrtime.bigint();
    const late = Number(now - this.scheduledAt) / 1e9 - LOOP_RESOLUTION_MS / 1000;
    this.histogram.observe(Math.max(0, late));
    this.scheduledAt = now;
    this.timer.refresh();
  }
}

import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { withTimeout } from '../common/timeout';
import { EventLoopDelay } from './event-loop-delay';

type Labels = Record<string, string>;

export interface GaugeSample {
  name: string;
  help: string;
  value: number;
  labels?: Labels;
}

/** Gauges read at scrape time from another module (the job queue's depth, say). */
export type GaugeSource = () => GaugeSample[] | Promise<GaugeSample[]>;

/** Every name in /metrics starts with this. */
export const METRIC_PREFIX = 'modelforge_';

const SOURCE_TIMEOUT_MS = 500;

/**
 * prom-client's event-loop gauges read a delay histogram and reset it at every scrape: a second
 * scraper would see only what happened since the first one scraped. They are left out;
 * modelforge_event_loop_delay_seconds (a cumulative histogram) replaces them.
 */
const RESET_ON_SCRAPE = /^modelforge_nodejs_eventloop_lag/;

/**
 * /metrics on prom-client, names prefixed modelforge_, base units. Each application has its own
 * registry (never prom-client's global one), so several apps in one process do not collide.
 *
 * Every metric is cumulative (counters, histograms) or a value read at scrape time (gauges);
 * nothing is reset by a scrape, so any number of scrapers each get correct rates and quantiles.
 *
 * Features register their metrics on `registry` (see PredictionMetrics, EngineMetrics), or use
 * `increment` and `registerGauges` for counters and gauges named at the call.
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter>();
  private readonly sources: GaugeSource[] = [];
  private readonly loopDelay: EventLoopDelay;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    for (const metric of this.registry.getMetricsAsArray()) {
      if (RESET_ON_SCRAPE.test(metric.name)) this.registry.removeSingleMetric(metric.name);
    }
    this.loopDelay = new EventLoopDelay(this.registry);
  }

  onModuleDestroy(): void {
    this.loopDelay.stop();
  }

  /** Adds to a counter; `name` without the prefix, labels low-cardinality and always the same keys. */
  increment(name: string, help: string, labels: Labels = {}, by = 1): void {
    let counter = this.counters.get(name);
    if (!counter) {
      counter = new Counter({
        name: METRIC_PREFIX + name,
        help,
        labelNames: Object.keys(labels),
        registers: [this.registry],
      });
      this.counters.set(name, counter);
    }
    counter.inc(labels, by);
  }

  /** Adds gauges computed at every scrape; a source that fails or is slow is left out of that scrape. */
  registerGauges(source: GaugeSource): void {
    this.sources.push(source);
  }

  /** The Prometheus text exposition. */
  async render(): Promise<string> {
    const [own, sampled] = await Promise.all([this.registry.metrics(), this.sampleSources()]);
    return sampled ? `${own}\n${sampled}` : own;
  }

  /** The gauges of the sources that answered, in a registry that lives for this scrape only. */
  private async sampleSources(): Promise<string> {
    const samples = (await Promise.all(this.sources.map((source) => this.sample(source)))).flat();
    if (samples.length === 0) return '';
    const scrape = new Registry();
    const gauges = new Map<string, Gauge>();
    for (const { name, help, value, labels = {} } of samples) {
      let gauge = gauges.get(name);
      if (!gauge) {
        gauge = new Gauge({ name: METRIC_PREFIX + name, help, labelNames: Object.keys(labels), registers: [scrape] });
        gauges.set(name, gauge);
      }
      gauge.set(labels, Number.isFinite(value) ? value : 0);
    }
    return scrape.metrics();
  }

  private async sample(source: GaugeSource): Promise<GaugeSample[]> {
    try {
      return await withTimeout(Promise.resolve(source()), SOURCE_TIMEOUT_MS, () => new Error('gauge source timed out'));
    } catch {
      return [];
    }
  }
}

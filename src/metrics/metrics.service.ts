import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { InferenceService } from '../inference/inference.service';

type Labels = Record<string, string>;

export interface GaugeSample {
  name: string;
  help: string;
  value: number;
  labels?: Labels;
}

/** Gauges read at scrape time from another module (the job queue's depth, say). */
export type GaugeSource = () => Promise<GaugeSample[]>;

const SOURCE_TIMEOUT_MS = 500;

const LOOP_RESOLUTION_MS = 10;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/**
 * Prometheus text metrics, prefixed modelforge_, in base units. The event-loop delay quantiles
 * cover the time since the previous scrape, so each scrape shows the recent stall of the HTTP
 * thread rather than an average over the process lifetime.
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly sources: GaugeSource[] = [];

  constructor(private readonly inference: InferenceService) {
    this.loopDelay.enable();
  }

  onModuleDestroy(): void {
    this.loopDelay.disable();
  }

  /** Adds to a counter; `name` without the prefix, labels low-cardinality. */
  increment(name: string, help: string, labels: Labels = {}, by = 1): void {
    let counter = this.counters.get(name);
    if (!counter) {
      counter = { help, values: new Map() };
      this.counters.set(name, counter);
    }
    const key = labelText(labels);
    counter.values.set(key, (counter.values.get(key) ?? 0) + by);
  }

  /** Adds gauges computed at every scrape; a source that fails or is slow is left out of that scrape. */
  registerGauges(source: GaugeSource): void {
    this.sources.push(source);
  }

  async render(): Promise<string> {
    const external = await Promise.all(this.sources.map((source) => this.sample(source)));
    const lines: string[] = [];
    const gauge = (name: string, help: string, value: number, labels: Labels = {}) => {
      if (!lines.includes(`# TYPE modelforge_${name} gauge`)) {
        lines.push(`# HELP modelforge_${name} ${help}`, `# TYPE modelforge_${name} gauge`);
      }
      lines.push(`modelforge_${name}${labelText(labels)} ${Number.isFinite(value) ? value : 0}`);
    };
    const memory = process.memoryUsage();
    gauge('process_resident_memory_bytes', 'Resident set size of the process', memory.rss);
    gauge('process_heap_used_bytes', 'V8 heap in use on the HTTP thread', memory.heapUsed);
    // The histogram records whole sampling intervals; the delay is what exceeds the resolution.
    const delay = (ns: number) => Math.max(0, ns / 1e9 - LOOP_RESOLUTION_MS / 1000);
    for (const q of [0.5, 0.99]) {
      const seconds = this.loopDelay.count > 0 ? delay(this.loopDelay.percentile(q * 100)) : 0;
      gauge('event_loop_delay_seconds', 'Event-loop delay of the HTTP thread since the previous scrape', seconds, {
        quantile: String(q),
      });
    }
    gauge(
      'event_loop_delay_max_seconds',
      'Largest event-loop delay since the previous scrape',
      this.loopDelay.max / 1e9,
    );
    this.loopDelay.reset();
    const engine = this.inference.status();
    gauge('inference_workers', 'Inference worker threads configured', engine.workers);
    gauge('inference_workers_alive', 'Inference worker threads running', engine.alive);
    gauge('inference_worker_restarts', 'Inference workers replaced since start', engine.restarts);
    gauge('inference_loaded_versions', 'Distinct model files loaded in the workers', engine.loadedVersions);
    gauge('inference_loaded_bytes', 'Size of the model files loaded', engine.loadedBytes);
    gauge('inference_in_flight', 'Requests sent to workers and not answered yet', engine.inFlight);
    for (const sample of external.flat()) gauge(sample.name, sample.help, sample.value, sample.labels);
    for (const [name, counter] of this.counters) {
      lines.push(`# HELP modelforge_${name} ${counter.help}`, `# TYPE modelforge_${name} counter`);
      for (const [labels, value] of counter.values) lines.push(`modelforge_${name}${labels} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private async sample(source: GaugeSource): Promise<GaugeSample[]> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        source(),
        new Promise<GaugeSample[]>((resolve) => {
          timer = setTimeout(() => resolve([]), SOURCE_TIMEOUT_MS);
        }),
      ]);
    } catch {
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
}

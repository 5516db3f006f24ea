import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { EngineEvents, EngineStatus, InferenceService, RestartReason } from '../inference/inference.service';
import { METRIC_PREFIX, MetricsService } from './metrics.service';

/** Requests combined in one run: batching's maxBatchSize stays well below the last bound. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

const RESTART_REASONS: RestartReason[] = ['crash', 'timeout', 'memory', 'recycle'];

/** A gauge of one EngineStatus number, read at each scrape. */
const STATUS_GAUGES: [name: string, help: string, read: (status: EngineStatus) => number][] = [
  ['inference_workers', 'Inference processes configured (INFERENCE_WORKERS)', (s) => s.workers],
  ['inference_workers_alive', 'Inference processes running', (s) => s.alive],
  ['inference_loaded_versions', 'Distinct model files loaded in the inference processes', (s) => s.loadedVersions],
  ['inference_loaded_bytes', 'Size of the model files loaded', (s) => s.loadedBytes],
  ['inference_in_flight', 'Requests sent to inference processes and not answered yet', (s) => s.inFlight],
];

/**
 * The inference engine in /metrics, read through its public surface only: `status()` at each
 * scrape, `events` as batches run and processes are replaced. Model labels come from the engine,
 * which only ever runs resolved models.
 */
@Injectable()
export class EngineMetrics implements OnModuleDestroy {
  private readonly batchSize: Histogram<'model'>;
  private readonly restarts: Counter<'reason'>;
  /** Models whose queue depth was ever reported: they stay at 0 rather than vanish when drained. */
  private readonly queuedModels = new Set<string>();
  private readonly onBatch = ({ model, size }: EngineEvents['batch'][0]) => this.batchSize.observe({ model }, size);
  private readonly onRestart = ({ reason }: EngineEvents['restart'][0]) => this.restarts.inc({ reason });

  constructor(
    private readonly inference: InferenceService,
    metrics: MetricsService,
  ) {
    const registers = [metrics.registry];
    const engine = this.inference;
    for (const [name, help, read] of STATUS_GAUGES) {
      new Gauge({
        name: METRIC_PREFIX + name,
        help,
        registers,
        collect() {
          this.set(read(engine.status()));
        },
      });
    }
    const queuedModels = this.queuedModels;
    new Gauge({
      name: `${METRIC_PREFIX}inference_queue_depth`,
      help: 'Requests waiting or running, by model',
      labelNames: ['model'],
      registers,
      collect() {
        const depth = engine.status().queueDepth;
        for (const model of Object.keys(depth)) queuedModels.add(model);
        for (const model of queuedModels) this.set({ model }, depth[model] ?? 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}inference_process_resident_memory_bytes`,
      help: 'Resident set size of each inference process, by process index',
      labelNames: ['process'],
      registers,
      collect() {
        this.reset();
        for (const { index, rssBytes } of engine.status().processes) {
          if (rssBytes !== undefined) this.set({ process: String(index) }, rssBytes);
        }
      },
    });
    this.batchSize = new Histogram({
      name: `${METRIC_PREFIX}inference_batch_size`,
      help: 'Requests combined in one run of a model (1 without batching)',
      labelNames: ['model'],
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    this.restarts = new Counter({
      name: `${METRIC_PREFIX}inference_process_restarts_total`,
      help: 'Inference processes replaced, by reason',
      labelNames: ['reason'],
      registers,
    });
    // Every reason from 0, so a first restart shows as an increase.
    for (const reason of RESTART_REASONS) this.restarts.inc({ reason }, 0);
    this.inference.events.on('batch', this.onBatch);
    this.inference.events.on('restart', this.onRestart);
  }

  onModuleDestroy(): void {
    this.inference.events.off('batch', this.onBatch);
    this.inference.events.off('restart', this.onRestart);
  }
}

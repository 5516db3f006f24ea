import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { METRIC_PREFIX, MetricsService } from '../metrics/metrics.service';
import type { PredictionOutcome } from './prediction-context';

/** The model label of a prediction that did not resolve to a servable version. */
export const UNKNOWN_MODEL = '_unknown';

/** The cache label of a failed prediction. */
export const NO_CACHE_OUTCOME = 'none';

/** From a cache hit's fraction of a millisecond to INFERENCE_TIMEOUT_MS's default (30 s). */
export const STAGE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/**
 * modelforge_predictions_total{model,status,cache} for every prediction that reaches the handler
 * (answered or failed), and modelforge_prediction_duration_seconds{model,stage} for answered
 * ones: each Server-Timing stage, and `total` (from the request's arrival to its response).
 *
 * `model` is a registry name only once the request resolved to a servable version: a name the
 * client typed (unknown, out of its scope, a version that does not exist) is `_unknown`, so no
 * caller can add series.
 */
@Injectable()
export class PredictionMetrics {
  private readonly predictions: Counter<'model' | 'status' | 'cache'>;
  private readonly durations: Histogram<'model' | 'stage'>;

  constructor(metrics: MetricsService) {
    this.predictions = new Counter({
      name: `${METRIC_PREFIX}predictions_total`,
      help: 'Predictions by model, HTTP status code and cache outcome (HIT, MISS, BYPASS; none when failed)',
      labelNames: ['model', 'status', 'cache'],
      registers: [metrics.registry],
    });
    this.durations = new Histogram({
      name: `${METRIC_PREFIX}prediction_duration_seconds`,
      help: 'Time spent in each stage of answered predictions (the Server-Timing stages) and in total',
      labelNames: ['model', 'stage'],
      buckets: STAGE_BUCKETS,
      registers: [metrics.registry],
    });
  }

  answered(outcome: Pick<PredictionOutcome, 'model' | 'cache' | 'stages'>, totalMs: number): void {
    const model = outcome.model;
    this.predictions.inc({ model, status: '200', cache: outcome.cache });
    for (const [stage, ms] of Object.entries(outcome.stages)) {
      if (ms !== undefined) this.durations.observe({ model, stage }, ms / 1000);
    }
    this.durations.observe({ model, stage: 'total' }, totalMs / 1000);
  }

  /** `servedModel`: the resolved model's name, if the request got that far. */
  failed(servedModel: string | undefined, statusCode: number): void {
    this.predictions.inc({ model: servedModel ?? UNKNOWN_MODEL, status: String(statusCode), cache: NO_CACHE_OUTCOME });
  }
}

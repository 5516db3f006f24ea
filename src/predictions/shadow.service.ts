import { Injectable, Logger } from '@nestjs/common';
import { TooManyRequestsError } from '../common/errors';
import { toSafeError } from '../common/safe-error';
import { DomainError, STATUS_BY_KIND } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { NotStartedError } from '../inference/engine-errors';
import { deadlineIn } from '../inference/inference.service';
import type { ServableVersion } from '../models/servable-version';
import { ServableVersionsService } from '../models/servable-versions.service';
import { shadowOf, ShadowTarget } from '../models/traffic-policy';
import { MetricsService } from '../metrics/metrics.service';
import type { VersionRef } from '../models/version-ref';
import { elapsedMs } from './prediction-context';
import { PredictionLogService } from './prediction-log.service';
import type { PredictionProtocol } from './prediction-protocol';
import { ComparableTensor, compareOutputs } from './shadow-agreement';

const IN_FLIGHT_FULL = 'SHADOW_MAX_IN_FLIGHT shadow runs were already in flight';
const NOT_STARTED = 'served work kept every inference process busy until the deadline (INFERENCE_TIMEOUT_MS)';

/** Outputs as the comparison reads them; undefined when they could not be read. */
export type ShadowOutputs = ReadonlyMap<string, ComparableTensor> | undefined;

/** What a shadow run of one protocol answers: its outputs compared, and as the log keeps them. */
export interface ShadowResult {
  outputs: ShadowOutputs;
  /** The outputs' text for the prediction log (models that log payloads). */
  logged: string;
}

/** One served request to mirror, prepared on the served path (nothing is computed there). */
export interface ShadowMirror {
  /** The model's registry name. */
  model: string;
  servedVersion: number;
  target: ShadowTarget;
  /** The model's prediction cache generation the request resolved under (ServableVersionsService.resolve). */
  epoch?: string;
  protocol: PredictionProtocol;
  actor: string | null;
  /** Runs the request's inputs on the shadow version (InferenceService.predict or predictRaw with `shadow`). */
  run(shadow: ServableVersion, deadline: number): Promise<ShadowResult>;
  /** The served outputs, read only once the shadow run has answered. */
  servedOutputs(): ShadowOutputs;
}

/**
 * Shadow deployments (traffic policy `shadow`): a share of the requests the split serves is run
 * again on the shadow version once the response has gone. The shadow's result goes to the
 * prediction log only (role `shadow`, linked to the served row, with its agreement), never to the
 * client. It never touches the prediction cache, is not counted in the client's latency or rate
 * limit (it is no HTTP request), and waits in a background lane of the engine. SHADOW_MAX_IN_FLIGHT
 * bounds both the model's mirrors in flight here and the runs in that lane (per model file): past
 * either the mirror is dropped at once, never queued, and counted (modelforge_shadow_dropped_total,
 * and a log row with status `dropped`). Nothing a shadow run
 * does can fail or delay the served response: every error ends here, as a log row.
 */
@Injectable()
export class ShadowService {
  private readonly logger = new Logger(ShadowService.name);
  /**
   * Mirrors of each model from their start (resolving the shadow) to their log row: what they
   * hold (the request's inputs) is bounded by SHADOW_MAX_IN_FLIGHT per model, as the engine's
   * shadow lane bounds their runs per model file.
   */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly versions: ServableVersionsService,
    private readonly log: PredictionLogService,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * The model's shadow when this request is to be mirrored: it named no version (the policy
   * served it) and its own draw fell in the shadow's share. A draw of its own, apart from the
   * request's traffic point, so the mirrored share is the same for every split member.
   */
  pick(
    servable: ServableVersion,
    requested: VersionRef | undefined,
    random: () => number = Math.random,
  ): ShadowTarget | undefined {
    const shadow = shadowOf(servable.traffic);
    if (requested !== undefined || !shadow || shadow.percent <= 0) return undefined;
    return random() * 100 < shadow.percent ? shadow : undefined;
  }

  /** Starts the shadow run of a served request (logged as `servedId`); never throws, never waits. */
  mirror(request: ShadowMirror, servedId: string): void {
    const count = this.inFlight.get(request.model) ?? 0;
    if (count >= this.config.inference.shadowMaxInFlight) {
      const started = process.hrtime.bigint();
      // Only to name the version in the log row (remembered per cache generation, no query as a rule).
      void this.versions
        .resolve(request.model, request.target.version, request.epoch)
        .then(
          (shadow) => this.dropped(request, servedId, shadow, started, IN_FLIGHT_FULL),
          () => this.dropped(request, servedId, undefined, started, IN_FLIGHT_FULL),
        )
        .catch((error: Error) =>
          this.logger.warn({ msg: 'shadow drop could not be recorded', model: request.model, err: error.message }),
        );
      return;
    }
    this.inFlight.set(request.model, count + 1);
    void this.runMirror(request, servedId)
      .catch((error: Error) =>
        this.logger.warn({ msg: 'shadow run could not be recorded', model: request.model, err: error.message }),
      )
      .finally(() => {
        const left = (this.inFlight.get(request.model) ?? 1) - 1;
        if (left > 0) this.inFlight.set(request.model, left);
        else this.inFlight.delete(request.model);
      });
  }

  private async runMirror(request: ShadowMirror, servedId: string): Promise<void> {
    const started = process.hrtime.bigint();
    let shadow: ServableVersion | undefined;
    try {
      shadow = await this.versions.resolve(request.model, request.target.version, request.epoch);
      // An alias moved onto the version that served: nothing to compare.
      if (shadow.version === request.servedVersion) return;
      const { outputs, logged } = await request.run(shadow, deadlineIn(this.config.inference.timeoutMs));
      const served = request.servedOutputs();
      const agreement = outputs && served ? compareOutputs(served, outputs) : undefined;
      this.count(request.model, 'ok');
      this.record(request, servedId, shadow, started, {
        outputs: shadow.logPayloads ? logged : null,
        status: 'ok',
        statusCode: 200,
        error: null,
        agrees: agreement?.agrees ?? null,
        maxRelDiff: agreement?.maxRelDiff ?? null,
      });
    } catch (error) {
      // The engine's shadow lane of that model file is full (another model's mirrors share it), or
      // served work kept every process busy until the deadline: the shadow never ran.
      if (error instanceof TooManyRequestsError || error instanceof NotStartedError) {
        this.dropped(
          request,
          servedId,
          shadow,
          started,
          error instanceof NotStartedError ? NOT_STARTED : IN_FLIGHT_FULL,
        );
        return;
      }
      this.count(request.model, 'error');
      const safe = toSafeError(error, `shadow of prediction ${servedId}`);
      this.logger.warn({ msg: 'shadow run failed', model: request.model, servedId, kind: safe.kind });
      this.record(request, servedId, shadow, started, {
        outputs: null,
        status: safe.kind,
        statusCode: error instanceof DomainError ? STATUS_BY_KIND[error.kind] : 500,
        error: safe.message,
        agrees: null,
        maxRelDiff: null,
      });
    }
  }

  private dropped(
    request: ShadowMirror,
    servedId: string,
    shadow: ServableVersion | undefined,
    started: bigint,
    reason: string,
  ): void {
    this.metrics.increment(
      'shadow_dropped_total',
      'Shadow runs dropped: SHADOW_MAX_IN_FLIGHT shadow runs were in flight, or served work kept the engine busy until the deadline',
      { model: request.model },
    );
    this.record(request, servedId, shadow, started, {
      outputs: null,
      status: 'dropped',
      statusCode: 429,
      error: reason,
      agrees: null,
      maxRelDiff: null,
    });
  }

  private count(model: string, outcome: 'ok' | 'error'): void {
    this.metrics.increment('shadow_runs_total', 'Shadow runs that ran, by outcome (ok, error)', { model, outcome });
  }

  private record(
    request: ShadowMirror,
    servedId: string,
    shadow: ServableVersion | undefined,
    started: bigint,
    result: {
      outputs: string | null;
      status: string;
      statusCode: number;
      error: string | null;
      agrees: boolean | null;
      maxRelDiff: number | null;
    },
  ): void {
    this.log.record({
      model: request.model,
      // A shadow that could not be resolved is logged under the number it named, if it named one.
      version: shadow?.version ?? (typeof request.target.version === 'number' ? request.target.version : null),
      cached: false,
      latencyMs: elapsedMs(started),
      inputHash: null,
      actor: request.actor,
      protocol: request.protocol,
      inputs: null,
      role: 'shadow',
      servedId,
      ...result,
    });
  }
}

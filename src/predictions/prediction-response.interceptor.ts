import { principalOf } from '../auth/principal';
import { CallHandler, ExecutionContext, HttpException, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { catchError, map, Observable, throwError } from 'rxjs';
import { DomainError, STATUS_BY_KIND } from '../common/errors';
import { requestIdOf } from '../common/request-id';
import { internalDetail, toSafeError } from '../common/safe-error';
import { elapsedMs, loggedInputs, PredictionOutcome, RequestWithPrediction, responseJson } from './prediction-context';
import { PredictionLogService } from './prediction-log.service';
import { PredictionMetrics } from './prediction-metrics';
import { ShadowService } from './shadow.service';

function statusCodeOf(error: unknown): number {
  if (error instanceof DomainError) return STATUS_BY_KIND[error.kind];
  if (error instanceof HttpException) return error.getStatus();
  return 500;
}

/**
 * Outermost step of a prediction: writes the response body (the outputs are already serialized,
 * so nothing is encoded twice) and records the prediction, successful or not, in the log and the
 * metrics. A request the traffic policy mirrors starts its shadow run once the response has gone.
 */
@Injectable()
export class PredictionResponseInterceptor implements NestInterceptor {
  private readonly logger = new Logger(PredictionResponseInterceptor.name);

  constructor(
    private readonly log: PredictionLogService,
    private readonly metrics: PredictionMetrics,
    private readonly shadows: ShadowService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<RequestWithPrediction>();
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((outcome: PredictionOutcome) => {
        const receivedAt = req.prediction?.receivedAt ?? process.hrtime.bigint();
        const json = responseJson(outcome, receivedAt);
        const latencyMs = elapsedMs(receivedAt);
        this.metrics.answered(outcome, latencyMs);
        const servedId = this.log.record({
          model: outcome.model,
          version: outcome.version,
          status: 'ok',
          statusCode: 200,
          cached: outcome.cache === 'HIT',
          latencyMs,
          inputHash: outcome.inputHash ?? null,
          error: null,
          inputs: outcome.logPayloads ? loggedInputs(req) : null,
          outputs: outcome.logPayloads ? outcome.outputsJson : null,
          actor: principalOf(req)?.actor ?? null,
          protocol: 'rest',
        });
        const shadow = outcome.shadow;
        // 'close' follows the response's last byte (or the client leaving): never before it.
        if (shadow) res.once('close', () => this.shadows.mirror(shadow, servedId));
        res.type('application/json');
        return json;
      }),
      catchError((error: unknown) => {
        const prediction = req.prediction;
        const requestId = requestIdOf(req);
        // The log row and the client get the safe form; the error filter logs a 500's internals.
        const safe = toSafeError(error, `request id ${requestId}`);
        const hidden = error instanceof DomainError ? internalDetail(error) : undefined;
        if (hidden) this.logger.warn({ msg: 'prediction failed', requestId, kind: safe.kind, err: hidden });
        const statusCode = statusCodeOf(error);
        this.metrics.failed(prediction?.servedModel, statusCode);
        this.log.record({
          model: prediction?.model ?? null,
          version: prediction?.version ?? null,
          status: safe.kind,
          statusCode,
          actor: principalOf(req)?.actor ?? null,
          protocol: 'rest',
          cached: false,
          latencyMs: prediction ? elapsedMs(prediction.receivedAt) : 0,
          inputHash: null,
          error: safe.message,
          inputs: null,
          outputs: null,
        });
        return throwError(() => error);
      }),
    );
  }
}

import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { catchError, map, Observable, throwError } from 'rxjs';
import { DomainError, STATUS_BY_KIND } from '../common/errors';
import { elapsedMs, PredictionOutcome, RequestWithPrediction, responseJson } from './prediction-context';
import { PredictionLogService } from './prediction-log.service';

function statusOf(error: unknown): { status: string; statusCode: number } {
  if (error instanceof DomainError) return { status: error.kind, statusCode: STATUS_BY_KIND[error.kind] };
  if (error instanceof HttpException) return { status: 'invalid', statusCode: error.getStatus() };
  return { status: 'error', statusCode: 500 };
}

/**
 * Outermost step of a prediction: writes the response body (the outputs are already serialized,
 * so nothing is encoded twice) and records the prediction, successful or not, in the log.
 */
@Injectable()
export class PredictionResponseInterceptor implements NestInterceptor {
  constructor(private readonly log: PredictionLogService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<RequestWithPrediction>();
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((outcome: PredictionOutcome) => {
        const receivedAt = req.prediction?.receivedAt ?? process.hrtime.bigint();
        const json = responseJson(outcome, receivedAt);
        this.log.record({
          model: outcome.model,
          version: outcome.version,
          status: 'ok',
          statusCode: 200,
          cached: outcome.cache === 'HIT',
          latencyMs: elapsedMs(receivedAt),
          inputHash: outcome.inputHash ?? null,
          error: null,
          inputs: outcome.logPayloads && Buffer.isBuffer(req.body) ? req.body.toString('utf8') : null,
          outputs: outcome.logPayloads ? outcome.outputsJson : null,
        });
        res.type('application/json');
        return json;
      }),
      catchError((error: unknown) => {
        const prediction = req.prediction;
        this.log.record({
          model: prediction?.model ?? null,
          version: prediction?.version ?? null,
          ...statusOf(error),
          cached: false,
          latencyMs: prediction ? elapsedMs(prediction.receivedAt) : 0,
          inputHash: null,
          error: error instanceof Error ? error.message.slice(0, 2000) : String(error),
          inputs: null,
          outputs: null,
        });
        return throwError(() => error);
      }),
    );
  }
}

import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { map, Observable, of } from 'rxjs';
import { callerOf } from '../auth/caller';
import { PredictionCacheService } from '../cache/prediction-cache.service';
import type { RequestWithId } from '../common/request-id';
import { bypassesCache, PredictionOutcome, RequestWithPrediction, serverTiming } from './prediction-context';
import { PredictionsService } from './predictions.service';
import { trafficPick } from '../models/traffic-policy';

/**
 * ModelForge's own cache interceptor for POST /api/v1/predictions (Nest's CacheInterceptor only
 * caches GET). Before the handler: `Cache-Control: no-cache` bypasses the cache; otherwise the
 * sha256 of the raw body is looked up, and a hit answers without the body ever being parsed.
 * After it: the X-Cache, X-Model-Version and Server-Timing headers, and the cache write, which
 * happens off the response path.
 */
@Injectable()
export class PredictionCacheInterceptor implements NestInterceptor {
  private readonly logger = new Logger(PredictionCacheInterceptor.name);

  constructor(
    private readonly predictions: PredictionsService,
    private readonly cache: PredictionCacheService,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<RequestWithPrediction & RequestWithId>();
    const res = context.switchToHttp().getResponse<Response>();
    const bypassCache = bypassesCache(req);
    // The body reader hashed the raw bytes as they arrived (src/common/body-reader.ts).
    const rawHash = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.rawBodySha256 : undefined;
    const traffic = trafficPick((name) => req.header(name));
    const prediction = { receivedAt: req.startedAt, bypassCache, rawHash, traffic };
    req.prediction = prediction;
    if (!bypassCache && rawHash) {
      const hit = await this.predictions.fromRawCache(prediction, callerOf(req));
      if (hit) return of(this.finish(hit, res));
    }
    return next.handle().pipe(map((outcome: PredictionOutcome) => this.finish(outcome, res)));
  }

  private finish(outcome: PredictionOutcome, res: Response): PredictionOutcome {
    res.setHeader('X-Cache', outcome.cache);
    res.setHeader('X-Model-Version', String(outcome.version));
    res.setHeader('Server-Timing', serverTiming(outcome.stages));
    const write = outcome.write;
    if (write) {
      this.cache
        .put(write.keys, write.entry)
        .catch((error: Error) => this.logger.warn({ msg: 'cache write failed', err: error.message }));
    }
    return outcome;
  }
}

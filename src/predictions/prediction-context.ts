import type { Request } from 'express';
import type { CachedPrediction } from '../cache/prediction-cache.service';
import type { TrafficPick } from '../models/traffic-policy';
import type { ShadowMirror } from './shadow.service';

/** Milliseconds spent per stage of one prediction, reported in the Server-Timing header. */
export type PredictionStages = Partial<
  Record<'receive' | 'cache' | 'parse' | 'resolve' | 'validate' | 'queue' | 'inference' | 'encode', number>
>;

/** What one prediction produced; the interceptors turn it into the response, a cache write and a log row. */
export interface PredictionOutcome {
  model: string;
  version: number;
  cache: 'HIT' | 'MISS' | 'BYPASS';
  /** The `outputs` object, serialized. */
  outputsJson: string;
  inputHash?: string;
  inferenceMs: number;
  stages: PredictionStages;
  /** Keep inputs and outputs in the prediction log. */
  logPayloads: boolean;
  /** Entries to store once the response is on its way. */
  write?: { keys: string[]; entry: CachedPrediction };
  /** The traffic policy's shadow run of this request, started once the response has gone. */
  shadow?: ShadowMirror;
}

/** Per-request state shared by the prediction interceptors and the service. */
export interface PredictionContext {
  receivedAt: bigint;
  bypassCache: boolean;
  rawHash?: string;
  /** The request's traffic pick, for requests naming no version (see ServableVersionsService.resolve). */
  traffic?: TrafficPick;
  /** Known as soon as the body names them, so failed predictions are logged with them. */
  model?: string;
  version?: number;
  /**
   * The model's registry name once the request resolved to a servable version; until then `model`
   * is only what the client wrote, never a metric label.
   */
  servedModel?: string;
  /** The head of a body that moved to a worker, for models that log payloads. */
  loggedBody?: Uint8Array;
}

/**
 * Bytes of a request body kept for the prediction log: enough for its 64 Ki characters
 * (PredictionLogService cuts there), whatever the body's size.
 */
export const LOGGED_BODY_BYTES = 256 * 1024;

/** The request body as the prediction log keeps it. */
export function loggedInputs(req: RequestWithPrediction): string | null {
  const body = req.prediction?.loggedBody ?? (Buffer.isBuffer(req.body) ? req.body : undefined);
  if (!body) return null;
  return Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, LOGGED_BODY_BYTES)).toString('utf8');
}

export type RequestWithPrediction = Request & { prediction?: PredictionContext; rawBodySha256?: string };

/** `Cache-Control: no-cache` (or no-store) skips the prediction cache lookup. */
export function bypassesCache(req: Request): boolean {
  return cacheControlBypasses(req.header('cache-control'));
}

/** A Cache-Control value (an HTTP header, gRPC `cache-control` metadata) that skips the cache lookup. */
export function cacheControlBypasses(value: string | undefined): boolean {
  return /no-cache|no-store/i.test(value ?? '');
}

/** The body reader hashes a prediction body as it arrives unless the cache is bypassed. */
export function wantsRawCacheKey(req: Request): boolean {
  return !bypassesCache(req);
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

/** The response body (PredictionResponseDto), serialized without re-encoding the outputs. */
export function responseJson(outcome: PredictionOutcome, receivedAt: bigint): string {
  const timing = { totalMs: round(elapsedMs(receivedAt)), inferenceMs: round(outcome.inferenceMs) };
  return (
    `{"model":${JSON.stringify(outcome.model)},"version":${outcome.version},"outputs":${outcome.outputsJson},` +
    `"cached":${outcome.cache === 'HIT'},"timing":${JSON.stringify(timing)}}`
  );
}

/** `receive;dur=0.4, parse;dur=2.1, …` for the Server-Timing response header. */
export function serverTiming(stages: PredictionStages): string {
  return Object.entries(stages)
    .map(([name, ms]) => `${name};dur=${round(ms ?? 0)}`)
    .join(', ');
}

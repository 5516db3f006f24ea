import { Injectable } from '@nestjs/common';
import { DomainError, InvalidInputError } from '../common/errors';
import { InferenceService, ParsedHandle } from '../inference/inference.service';
import { parsePredictBody } from '../inference/worker/predict-envelope';
import type { ParsedRequest } from '../inference/worker/protocol';
import { MetricsService } from '../metrics/metrics.service';
import type { ModelVersionEntity } from '../models/entities/model-version.entity';
import { ModelVersionsService } from '../models/model-versions.service';

/** Milliseconds spent per stage of one prediction, reported in the Server-Timing header. */
export type PredictionStages = Record<
  'receive' | 'parse' | 'resolve' | 'validate' | 'queue' | 'inference' | 'encode',
  number
>;

export interface PredictionOutcome {
  /** The response body, serialized (PredictionResponseDto). */
  json: string;
  version: number;
  cached: boolean;
  stages: PredictionStages;
}

/** Bodies up to this size are parsed on the HTTP thread. */
const INLINE_PARSE_MAX_BYTES = 16 * 1024;

const elapsedMs = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;
const round = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * A prediction: the raw JSON body is parsed and checked in an inference worker, the version is
 * resolved here, then the same worker validates the inputs against the signature, runs the model
 * and serializes the outputs. The HTTP thread never parses or builds a large tensor.
 */
@Injectable()
export class PredictionsService {
  constructor(
    private readonly versions: ModelVersionsService,
    private readonly inference: InferenceService,
    private readonly metrics: MetricsService,
  ) {}

  async predict(body: Uint8Array, receivedAt: bigint): Promise<PredictionOutcome> {
    try {
      const outcome = await this.run(body, receivedAt);
      this.count('ok');
      return outcome;
    } catch (error) {
      this.count(error instanceof DomainError ? error.kind : 'error');
      throw error;
    }
  }

  private async run(body: Uint8Array, receivedAt: bigint): Promise<PredictionOutcome> {
    const receive = elapsedMs(receivedAt);
    let mark = process.hrtime.bigint();
    const parsed = await this.parse(body);
    const { request } = parsed;
    const parseTrip = elapsedMs(mark);
    mark = process.hrtime.bigint();
    let resolved;
    try {
      resolved = await this.versions.resolveServable(request.model, request.version);
      checkOutputs(resolved.entity, request.outputs);
    } catch (error) {
      if (parsed.handle) this.inference.discardParsed(parsed.handle);
      throw error;
    }
    const resolve = elapsedMs(mark);
    const { model, entity } = resolved;
    mark = process.hrtime.bigint();
    const source = parsed.handle ?? { inputs: parsed.inputs as Record<string, unknown> };
    const result = await this.inference.predictParsed(source, entity, request.outputs);
    const predictTrip = elapsedMs(mark);
    const timing = { totalMs: round(elapsedMs(receivedAt)), inferenceMs: round(result.inferenceMs) };
    const json =
      `{"model":${JSON.stringify(model.name)},"version":${entity.version},"outputs":${result.outputsJson},` +
      `"cached":false,"timing":${JSON.stringify(timing)}}`;
    return {
      json,
      version: entity.version,
      cached: false,
      stages: {
        receive,
        parse: request.parseMs,
        resolve,
        validate: result.validateMs,
        queue: Math.max(
          0,
          parseTrip - request.parseMs + predictTrip - result.validateMs - result.inferenceMs - result.encodeMs,
        ),
        inference: result.inferenceMs,
        encode: result.encodeMs,
      },
    };
  }

  /**
   * Small bodies are parsed here: a thread hop costs more than JSON.parse of a few kilobytes.
   * Larger ones are parsed by a worker, which keeps them for the prediction.
   */
  private async parse(body: Uint8Array): Promise<{
    request: ParsedRequest;
    handle?: ParsedHandle;
    inputs?: Record<string, unknown>;
  }> {
    if (body.byteLength > INLINE_PARSE_MAX_BYTES) return this.inference.parseRequest(body);
    const started = performance.now();
    const envelope = parsePredictBody(body);
    return {
      request: {
        model: envelope.model,
        version: envelope.version,
        outputs: envelope.outputs,
        parseMs: performance.now() - started,
      },
      inputs: envelope.inputs,
    };
  }

  private count(outcome: string): void {
    this.metrics.increment('predictions_total', 'Synchronous predictions by outcome', { outcome });
  }
}

function checkOutputs(entity: ModelVersionEntity, requested: string[] | undefined): void {
  if (!requested) return;
  const known = new Set(entity.outputs.map((o) => o.name));
  const unknown = requested.filter((o) => !known.has(o));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `outputs ${unknown.join(', ')} are not outputs of this model; its outputs are ${[...known].join(', ')}`,
      unknown.map((o) => ({ field: `outputs.${o}`, problem: 'is not an output of this model' })),
    );
  }
}

/** `receive;dur=0.4, parse;dur=2.1, …` for the Server-Timing response header. */
export function serverTiming(stages: PredictionStages): string {
  return Object.entries(stages)
    .map(([name, ms]) => `${name};dur=${round(ms)}`)
    .join(', ');
}

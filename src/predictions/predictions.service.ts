import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { mayTouchModel } from '../auth/model-patterns';
import { assertModelInScope } from '../auth/model-scope';
import { CachedPrediction, PredictionCacheService } from '../cache/prediction-cache.service';
import { boundedList, boundedName, MAX_ITEMS_LISTED } from '../common/bounded-text';
import { InvalidInputError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { InferenceService, ParsedHandle } from '../inference/inference.service';
import { parsePredictBody } from '../inference/worker/predict-envelope';
import type { ParsedRequest, PredictResult } from '../inference/worker/protocol';
import type { ModelVersionEntity } from '../models/entities/model-version.entity';
import { effectiveCache } from '../models/model.mapper';
import { ModelVersionsService } from '../models/model-versions.service';
import { elapsedMs, LOGGED_BODY_BYTES, PredictionContext, PredictionOutcome } from './prediction-context';

/** Bodies up to this size are parsed on the HTTP thread: a thread hop costs more. */
const INLINE_PARSE_MAX_BYTES = 16 * 1024;

interface Parsed {
  request: ParsedRequest;
  handle?: ParsedHandle;
  inputs?: Record<string, unknown>;
}

/**
 * A prediction: the raw JSON body is parsed and checked in an inference worker (small bodies
 * here), the version is resolved, then the worker validates the inputs against the signature,
 * hashes them for the cache, runs the model and serializes the outputs. The HTTP thread never
 * parses or builds a large tensor.
 *
 * A credential scoped to model patterns is refused (403) as soon as the body names a model
 * outside them: before the version is resolved and before any cache lookup, so it learns neither
 * whether that model exists nor what it answered to anyone else.
 */
@Injectable()
export class PredictionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly versions: ModelVersionsService,
    private readonly inference: InferenceService,
    private readonly cache: PredictionCacheService,
  ) {}

  /**
   * Answers a byte-identical repeat of an earlier request from the cache without parsing it, when
   * the entry's model generation and resolved version are still current. An entry of a model
   * outside the caller's scope is not answered here: the full path refuses it.
   */
  async fromRawCache(context: PredictionContext, caller: Caller): Promise<PredictionOutcome | undefined> {
    if (!context.rawHash) return undefined;
    const started = process.hrtime.bigint();
    const entry = await this.cache.getRaw(context.rawHash);
    if (!entry || !mayTouchModel(caller.principal.models, entry.m)) return undefined;
    const epoch = await this.cache.epoch(entry.m);
    if (!epoch || epoch !== entry.e) return undefined;
    let resolved;
    try {
      resolved = await this.versions.resolveServable(entry.m, entry.r ?? undefined, epoch);
    } catch {
      return undefined; // gone since: the full path answers with the right error
    }
    const settings = effectiveCache(resolved.model, this.config.cacheDefaults);
    if (!settings.enabled || resolved.entity.sha256 !== entry.s) return undefined;
    this.cache.countHit();
    context.model = entry.m;
    context.servedModel = resolved.model.name;
    context.version = entry.v;
    return this.hit(entry, resolved.model.logPayloads, {
      receive: Number(started - context.receivedAt) / 1e6,
      cache: elapsedMs(started),
    });
  }

  async predict(body: Uint8Array, context: PredictionContext, caller: Caller): Promise<PredictionOutcome> {
    const receive = elapsedMs(context.receivedAt);
    let mark = process.hrtime.bigint();
    // A large body moves to the worker that parses it; the log keeps a copy of its head.
    if (body.byteLength > INLINE_PARSE_MAX_BYTES) context.loggedBody = Buffer.from(body.subarray(0, LOGGED_BODY_BYTES));
    const parsed = await this.parse(body);
    const { request } = parsed;
    const parseTrip = elapsedMs(mark);
    context.model = request.model;
    context.version = request.version;
    mark = process.hrtime.bigint();
    let epoch: string | null | undefined;
    let resolved;
    try {
      assertModelInScope(caller, request.model);
      epoch = await this.cache.epoch(request.model);
      resolved = await this.versions.resolveServable(request.model, request.version, epoch ?? undefined);
      context.servedModel = resolved.model.name;
      checkOutputs(resolved.entity, request.outputs);
      // The first prediction of a model creates its generation: an unknown name never gets one.
      if (epoch === null) epoch = await this.cache.ensureEpoch(request.model);
    } catch (error) {
      if (parsed.handle) this.inference.discardParsed(parsed.handle);
      throw error;
    }
    const resolve = elapsedMs(mark);
    const { model, entity } = resolved;
    context.version = entity.version;
    const settings = effectiveCache(model, this.config.cacheDefaults);
    const source = parsed.handle ?? { inputs: parsed.inputs as Record<string, unknown> };
    const useCache = !context.bypassCache && settings.enabled && epoch !== undefined;

    mark = process.hrtime.bigint();
    let result: PredictResult;
    let write: PredictionOutcome['write'];
    if (useCache) {
      const { handle, prepared } = await this.inference.prepare(source, entity);
      const key = this.cache.canonicalKey(
        model.name,
        epoch as string,
        entity.sha256,
        request.outputs,
        prepared.inputHash,
      );
      const found = await this.cache.getCanonical(key);
      if (found && found.s === entity.sha256) {
        this.inference.discardParsed(handle);
        this.cache.countHit();
        const outcome = this.hit(found, model.logPayloads, { receive, parse: request.parseMs, resolve });
        // The raw alias lives only as long as the entry it points to.
        if (context.rawHash) outcome.write = { keys: [`raw:${context.rawHash}`], entry: found };
        return outcome;
      }
      this.cache.countMiss();
      result = await this.inference.execute(handle, entity, request.outputs);
      result.validateMs += prepared.validateMs;
      const entry: CachedPrediction = {
        m: model.name,
        r: request.version ?? null,
        e: epoch as string,
        s: entity.sha256,
        v: entity.version,
        o: result.outputsJson,
        h: result.inputHash,
        x: Date.now() + settings.ttlSeconds * 1000,
      };
      const keys = context.rawHash ? [key, `raw:${context.rawHash}`] : [key];
      write = { keys, entry };
    } else {
      if (context.bypassCache) this.cache.countBypass();
      result = await this.inference.predictParsed(source, entity, request.outputs);
    }
    const workerTrip = elapsedMs(mark);
    return {
      model: model.name,
      version: entity.version,
      cache: context.bypassCache ? 'BYPASS' : 'MISS',
      outputsJson: result.outputsJson,
      inputHash: result.inputHash,
      inferenceMs: result.inferenceMs,
      logPayloads: model.logPayloads,
      write,
      stages: {
        receive,
        parse: request.parseMs,
        resolve,
        validate: result.validateMs,
        queue: Math.max(
          0,
          parseTrip - request.parseMs + workerTrip - result.validateMs - result.inferenceMs - result.encodeMs,
        ),
        inference: result.inferenceMs,
        encode: result.encodeMs,
      },
    };
  }

  private hit(entry: CachedPrediction, logPayloads: boolean, stages: PredictionOutcome['stages']): PredictionOutcome {
    return {
      model: entry.m,
      version: entry.v,
      cache: 'HIT',
      outputsJson: entry.o,
      inputHash: entry.h,
      inferenceMs: 0,
      logPayloads,
      stages,
    };
  }

  /** Small bodies are parsed here; larger ones by a worker, which keeps them for the prediction. */
  private async parse(body: Uint8Array): Promise<Parsed> {
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
}

function checkOutputs(entity: ModelVersionEntity, requested: string[] | undefined): void {
  if (!requested) return;
  const known = new Set(entity.outputs.map((o) => o.name));
  const unknown = requested.filter((o) => !known.has(o));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `outputs ${boundedList(unknown)} are not outputs of this model; ` + `its outputs are ${boundedList([...known])}`,
      unknown
        .slice(0, MAX_ITEMS_LISTED)
        .map((o) => ({ field: `outputs.${boundedName(o)}`, problem: 'is not an output of this model' })),
    );
  }
}

import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { mayTouchModel } from '../auth/model-patterns';
import { assertModelInScope } from '../auth/model-scope';
import { CachedPrediction, PredictionCacheService } from '../cache/prediction-cache.service';
import { boundedList, boundedName, MAX_ITEMS_LISTED } from '../common/bounded-text';
import { InvalidInputError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { DecodedRequest, deadlineIn, InferenceService, RunOutcome } from '../inference/inference.service';
import { readPredictBody } from '../inference/predict-envelope';
import type { LooseInputs } from '../inference/tensor-codec';
import type { TensorSpec } from '../inference/tensor-spec';
import type { ServableVersion } from '../models/servable-version';
import { ServableVersionsService } from '../models/servable-versions.service';
import { elapsedMs, LOGGED_BODY_BYTES, PredictionContext, PredictionOutcome } from './prediction-context';
import { comparableFromJson } from './shadow-agreement';
import { ShadowService } from './shadow.service';

/** Bodies up to this size are parsed on the HTTP thread: a process hop costs more. */
const INLINE_PARSE_MAX_BYTES = 16 * 1024;

/**
 * A prediction: the raw JSON body is parsed, its inputs read and hashed (here for small bodies,
 * in an inference process for large ones: `decode`), the version is resolved and the cache
 * consulted, then one message to an inference process checks the inputs against the signature,
 * runs the model (batched with others when the model's batching is on) and serializes the
 * outputs. Small bodies take one process round trip, large ones two; the HTTP thread never parses
 * a large body or builds a tensor, and one deadline (INFERENCE_TIMEOUT_MS) covers both hops.
 *
 * A credential scoped to model patterns is refused (403) as soon as the body names a model
 * outside them: before the version is resolved and before any cache lookup, so it learns neither
 * whether that model exists nor what it answered to anyone else.
 *
 * A request that named no version and ran the model may be mirrored to the traffic policy's
 * shadow (ShadowService): the outcome carries the run, started once the response has gone. Cache
 * hits are not mirrored: nothing ran, and the shadow would compare with an older answer.
 */
@Injectable()
export class PredictionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly versions: ServableVersionsService,
    private readonly inference: InferenceService,
    private readonly cache: PredictionCacheService,
    private readonly shadows: ShadowService,
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
    if (!entry || !mayTouchModel(caller.principal.models, entry.model)) return undefined;
    const epoch = await this.cache.epoch(entry.model);
    if (!epoch || epoch !== entry.epoch) return undefined;
    let servable: ServableVersion;
    try {
      servable = await this.versions.resolve(entry.model, entry.requestedVersion ?? undefined, epoch, context.traffic);
    } catch {
      return undefined; // gone since: the full path answers with the right error
    }
    // The version too, not only the bytes: an alias moved to a version with the same file must
    // still say which version serves it now.
    if (!servable.cache.enabled || servable.sha256 !== entry.sha256 || servable.version !== entry.version) {
      return undefined;
    }
    this.cache.countHit();
    context.model = entry.model;
    context.servedModel = servable.name;
    context.version = entry.version;
    return this.hit(entry, servable.logPayloads, {
      receive: Number(started - context.receivedAt) / 1e6,
      cache: elapsedMs(started),
    });
  }

  async predict(body: Uint8Array, context: PredictionContext, caller: Caller): Promise<PredictionOutcome> {
    const receive = elapsedMs(context.receivedAt);
    const deadline = deadlineIn(this.config.inference.timeoutMs);
    let mark = process.hrtime.bigint();
    // The log keeps a copy of a large body's head.
    if (body.byteLength > INLINE_PARSE_MAX_BYTES) context.loggedBody = Buffer.from(body.subarray(0, LOGGED_BODY_BYTES));
    const request = await this.read(body, deadline);
    const readTrip = elapsedMs(mark);
    context.model = request.model;
    // An alias is not a version: the log learns the number once it is resolved.
    if (typeof request.version === 'number') context.version = request.version;
    mark = process.hrtime.bigint();
    assertModelInScope(caller, request.model);
    let epoch = await this.cache.epoch(request.model);
    const servable = await this.versions.resolve(request.model, request.version, epoch ?? undefined, context.traffic);
    context.servedModel = servable.name;
    checkOutputs(servable, request.outputs);
    // The first prediction of a model creates its generation: an unknown name never gets one.
    if (epoch === null) epoch = await this.cache.ensureEpoch(request.model);
    const resolve = elapsedMs(mark);
    context.version = servable.version;
    const useCache =
      !context.bypassCache &&
      servable.cache.enabled &&
      epoch !== undefined &&
      declaredMatch(servable.inputs, request.inputs);

    let key: string | undefined;
    if (useCache) {
      key = this.cache.canonicalKey(
        servable.name,
        epoch as string,
        servable.sha256,
        request.outputs,
        request.inputHash,
      );
      const found = await this.cache.getCanonical(key);
      if (found && found.sha256 === servable.sha256 && found.version === servable.version) {
        this.cache.countHit();
        const outcome = this.hit(found, servable.logPayloads, { receive, parse: request.parseMs, resolve });
        // The raw alias lives only as long as the entry it points to.
        if (context.rawHash) outcome.write = { keys: [`raw:${context.rawHash}`], entry: found };
        return outcome;
      }
      this.cache.countMiss();
    } else if (context.bypassCache) this.cache.countBypass();

    mark = process.hrtime.bigint();
    const result: RunOutcome = await this.inference.predict(servable, request.inputs, request.outputs, deadline);
    const runTrip = elapsedMs(mark);
    const outputsJson = (result.outputs as string[])[0];
    const shadowTarget = this.shadows.pick(servable, request.version);
    let write: PredictionOutcome['write'];
    if (key) {
      const entry: CachedPrediction = {
        model: servable.name,
        requestedVersion: request.version ?? null,
        epoch: epoch as string,
        sha256: servable.sha256,
        version: servable.version,
        outputs: outputsJson,
        inputHash: request.inputHash,
        expiresAt: Date.now() + servable.cache.ttlSeconds * 1000,
      };
      write = { keys: context.rawHash ? [key, `raw:${context.rawHash}`] : [key], entry };
    }
    return {
      model: servable.name,
      version: servable.version,
      cache: context.bypassCache ? 'BYPASS' : 'MISS',
      outputsJson,
      inputHash: request.inputHash,
      inferenceMs: result.inferenceMs,
      logPayloads: servable.logPayloads,
      write,
      shadow: shadowTarget && {
        model: servable.name,
        servedVersion: servable.version,
        target: shadowTarget,
        epoch: epoch ?? undefined,
        protocol: 'rest',
        actor: caller.principal.actor,
        run: async (shadow, deadline) => {
          const run = await this.inference.predict(shadow, request.inputs, request.outputs, deadline, true);
          const logged = (run.outputs as string[])[0];
          return { outputs: comparableFromJson(logged), logged };
        },
        servedOutputs: () => comparableFromJson(outputsJson),
      },
      stages: {
        receive,
        parse: request.parseMs,
        resolve,
        validate: request.readMs + result.validateMs,
        // Waiting and moving bytes between processes: both hops' time not spent working.
        queue: Math.max(
          0,
          readTrip -
            request.parseMs -
            request.readMs +
            runTrip -
            result.validateMs -
            result.inferenceMs -
            result.encodeMs,
        ),
        inference: result.inferenceMs,
        encode: result.encodeMs,
      },
    };
  }

  private hit(entry: CachedPrediction, logPayloads: boolean, stages: PredictionOutcome['stages']): PredictionOutcome {
    return {
      model: entry.model,
      version: entry.version,
      cache: 'HIT',
      outputsJson: entry.outputs,
      inputHash: entry.inputHash,
      inferenceMs: 0,
      logPayloads,
      stages,
    };
  }

  /** Small bodies are read here; larger ones by an inference process, which sends the inputs back. */
  private async read(body: Uint8Array, deadline: number): Promise<DecodedRequest> {
    if (body.byteLength > INLINE_PARSE_MAX_BYTES) {
      return this.inference.decode(body, deadline);
    }
    return readPredictBody(body, this.config.inference.maxTensorElements);
  }
}

/**
 * Whether every dtype the request declares ({shape, data, dtype}) is the signature's: the input
 * hash leaves declared dtypes out, so a request that declares a wrong one skips the cache and gets
 * its 400 from the run.
 */
function declaredMatch(specs: readonly TensorSpec[], inputs: LooseInputs): boolean {
  for (const [name, tensor] of Object.entries(inputs)) {
    if (tensor.problem !== undefined || tensor.declared === undefined) continue;
    if (specs.find((spec) => spec.name === name)?.dtype !== tensor.declared) return false;
  }
  return true;
}

function checkOutputs(servable: ServableVersion, requested: string[] | undefined): void {
  if (!requested) return;
  const known = new Set(servable.outputs.map((o) => o.name));
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

import { Injectable, Logger } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { CachedPrediction, PredictionCacheService } from '../cache/prediction-cache.service';
import { boundedName } from '../common/bounded-text';
import { ConflictError, DomainError, NoReadyVersionError, STATUS_BY_KIND } from '../common/errors';
import { toSafeError } from '../common/safe-error';
import { AppConfig } from '../config/app-config';
import { HealthService } from '../health/health.service';
import { ShutdownState } from '../health/shutdown-state';
import { deadlineIn, InferenceService, RawOutput } from '../inference/inference.service';
import type { TensorSpec } from '../inference/tensor-spec';
import { ServableVersionsService } from '../models/servable-versions.service';
import type { ServableVersion } from '../models/servable-version';
import { elapsedMs, PredictionStages } from '../predictions/prediction-context';
import { PredictionLogService } from '../predictions/prediction-log.service';
import { PredictionMetrics } from '../predictions/prediction-metrics';
import type { PredictionProtocol } from '../predictions/prediction-protocol';
import { oipDatatypeOf } from './oip-datatypes';
import { hashOipInputs } from './oip-hash';
import { checkRequestedOutputs, conformOipInputs } from './oip-signature';
import { cachedOutputs, outputsForCache } from './oip-cache-entry';
import { returnedParameters } from './oip-response';
import { parseVersion, SERVER_METADATA } from './oip-server';
import type { ShadowTarget, TrafficPick } from '../models/traffic-policy';
import { tensorFromRaw } from '../inference/tensor-wire';
import type { ComparableTensor } from '../predictions/shadow-agreement';
import { ShadowMirror, ShadowService } from '../predictions/shadow.service';
import { LATEST } from '../models/version-ref';
import type {
  OipInferRequest,
  OipInferResult,
  OipModelMetadata,
  OipOutput,
  OipServerMetadata,
  OipTensorMetadata,
} from './oip-types';

/** Where an infer came from and what its transport measured before the service saw it. */
export interface OipInferContext {
  protocol: Extract<PredictionProtocol, 'oip-rest' | 'oip-grpc'>;
  requestId: string;
  bypassCache: boolean;
  /** process.hrtime.bigint() when the request arrived. */
  receivedAt: bigint;
  /** The request body's head, for models that log payloads (REST JSON only). */
  loggedBody?: () => string | null;
  /** The request's traffic pick (headers or gRPC metadata), for requests naming no version. */
  traffic?: TrafficPick;
}

/**
 * The Open Inference Protocol (KServe v2) over ModelForge's registry and engine, whatever the
 * transport (REST in oip.controller.ts, gRPC in grpc/). Inputs are checked against the version's
 * signature here, on the calling thread: it only compares names, datatypes and shapes, since the
 * transport already read every value into little-endian bytes. The engine runs them without
 * touching a value (raw bytes become typed views in the inference process) and answers raw bytes,
 * with the JSON text of outputs that go out as JSON rendered in the process.
 *
 * Like POST /api/v1/predictions: a scoped credential is refused before any lookup, the prediction
 * cache answers repeats (keyed by each input's datatype, shape and bytes, so the same tensor sent
 * as JSON or as binary meets one entry), dynamic batching applies, and every infer is counted in
 * the metrics and recorded in the prediction log with its protocol.
 */
@Injectable()
export class OipService {
  private readonly logger = new Logger(OipService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly versions: ServableVersionsService,
    private readonly inference: InferenceService,
    private readonly cache: PredictionCacheService,
    private readonly health: HealthService,
    private readonly shutdown: ShutdownState,
    private readonly log: PredictionLogService,
    private readonly metrics: PredictionMetrics,
    private readonly shadows: ShadowService,
  ) {}

  serverMetadata(): OipServerMetadata {
    return SERVER_METADATA;
  }

  /** The readiness of /health/ready: degraded (the cache store down) still serves. */
  async serverReady(): Promise<boolean> {
    const { status } = await this.health.readiness();
    return status === 'ok' || status === 'degraded';
  }

  async modelMetadata(caller: Caller, name: string, version?: string): Promise<OipModelMetadata> {
    assertModelInScope(caller, name);
    // Without a version, the latest ready one: a traffic split's pick would make metadata random.
    const servable = await this.versions.resolve(name, parseVersion(name, version) ?? LATEST);
    const versions = await this.versions.readyVersions(name);
    return {
      name: servable.name,
      versions: versions.map(String),
      platform: 'onnxruntime_onnx',
      inputs: servable.inputs.map(tensorMetadata),
      outputs: servable.outputs.map(tensorMetadata),
    };
  }

  /**
   * Whether the version can take an infer now: it exists and is ready, an inference process runs,
   * and shutdown has not begun. A model with no ready version yet is not ready; an unknown model
   * or version is an error (404).
   */
  async modelReady(caller: Caller, name: string, version?: string): Promise<boolean> {
    assertModelInScope(caller, name);
    try {
      await this.versions.resolve(name, parseVersion(name, version) ?? LATEST);
    } catch (error) {
      if (error instanceof ConflictError || error instanceof NoReadyVersionError) return false;
      throw error;
    }
    return !this.shutdown.isDraining && this.inference.status().alive > 0;
  }

  /**
   * Runs an infer and records it (log, metrics), answered or failed. `source` is the request, or
   * how to read it from the transport's bytes: then a request that cannot be read (a 400 naming
   * the tensor) is recorded like any other failure, and only after the credential's model scope
   * was checked.
   */
  async infer(
    caller: Caller,
    name: string,
    version: string | undefined,
    source: OipInferRequest | (() => Promise<OipInferRequest>),
    context: OipInferContext,
  ): Promise<OipInferResult> {
    const progress: Progress = {};
    try {
      const result = await this.run(caller, name, version, source, context, progress);
      const servedId = this.recordAnswered(
        result,
        progress as Progress & { servable: ServableVersion },
        caller,
        context,
      );
      const shadow = progress.shadow;
      // The transport writes the answer in this turn of the event loop; the shadow run starts after.
      if (shadow) setImmediate(() => this.shadows.mirror(shadow, servedId));
      return result;
    } catch (error) {
      this.recordFailed(error, name, version, progress.servable, caller, context);
      throw error;
    }
  }

  private async run(
    caller: Caller,
    name: string,
    version: string | undefined,
    source: OipInferRequest | (() => Promise<OipInferRequest>),
    context: OipInferContext,
    progress: Progress,
  ): Promise<OipInferResult> {
    const receive = elapsedMs(context.receivedAt);
    const deadline = deadlineIn(this.config.inference.timeoutMs);
    assertModelInScope(caller, name);
    let mark = process.hrtime.bigint();
    const request = typeof source === 'function' ? await source() : source;
    const parse = elapsedMs(mark);
    mark = process.hrtime.bigint();
    let epoch = await this.cache.epoch(name);
    const servable = await this.versions.resolve(
      name,
      parseVersion(name, version),
      epoch ?? undefined,
      context.traffic,
    );
    progress.servable = servable;
    if (epoch === null) epoch = await this.cache.ensureEpoch(name);
    const resolve = elapsedMs(mark);

    mark = process.hrtime.bigint();
    checkRequestedOutputs(servable.outputs, request.outputs);
    const feeds = conformOipInputs(servable.inputs, request.inputs);
    const binary = outputForms(servable.outputs, request);
    const outputNames = request.outputs?.map((output) => output.name);
    const validate = elapsedMs(mark);
    const stages: PredictionStages = { receive, parse, resolve, validate };
    const head = {
      modelName: servable.name,
      modelVersion: String(servable.version),
      id: request.id,
      parameters: returnedParameters(request.parameters),
    };

    let key: string | undefined;
    if (!context.bypassCache && servable.cache.enabled && epoch !== undefined) {
      mark = process.hrtime.bigint();
      progress.inputHash = hashOipInputs(request.inputs);
      key = this.cache.canonicalKey(servable.name, epoch as string, servable.sha256, outputNames, cacheHash(progress));
      const found = await this.cache.getCanonical(key);
      stages.cache = elapsedMs(mark);
      if (found && found.sha256 === servable.sha256) {
        this.cache.countHit();
        return { ...head, outputs: cachedOutputs(found.outputs, binary), cache: 'HIT', stages: defined(stages) };
      }
      this.cache.countMiss();
    } else if (context.bypassCache) this.cache.countBypass();

    mark = process.hrtime.bigint();
    const json = [...binary].filter(([, isBinary]) => !isBinary).map(([output]) => output);
    const result = await this.inference.predictRaw(servable, feeds, outputNames, { json }, deadline);
    const trip = elapsedMs(mark);
    const raw = (result.outputs as RawOutput[][])[0];
    const target = this.shadows.pick(servable, parseVersion(name, version));
    if (target) progress.shadow = this.shadowOf(servable, target, request, epoch ?? undefined, caller, context, raw);
    if (key)
      this.store(key, servable, { requested: version, epoch: epoch as string, inputHash: cacheHash(progress) }, raw);
    Object.assign(stages, {
      validate: validate + result.validateMs,
      queue: Math.max(0, trip - result.validateMs - result.inferenceMs - result.encodeMs),
      inference: result.inferenceMs,
      encode: result.encodeMs,
    });
    return {
      ...head,
      outputs: raw.map((output) => toOipOutput(output, binary.get(output.name) ?? false)),
      cache: context.bypassCache ? 'BYPASS' : 'MISS',
      stages: defined(stages),
    };
  }

  /**
   * The shadow run of an infer: the same inputs, checked against the shadow's own signature (a
   * mismatch is the shadow's error), answered raw and compared with the served outputs.
   */
  private shadowOf(
    servable: ServableVersion,
    target: ShadowTarget,
    request: OipInferRequest,
    epoch: string | undefined,
    caller: Caller,
    context: OipInferContext,
    served: RawOutput[],
  ): ShadowMirror {
    const outputNames = request.outputs?.map((output) => output.name);
    return {
      model: servable.name,
      servedVersion: servable.version,
      target,
      epoch,
      protocol: context.protocol,
      actor: caller.principal.actor,
      run: async (shadow, deadline) => {
        checkRequestedOutputs(shadow.outputs, request.outputs);
        const feeds = conformOipInputs(shadow.inputs, request.inputs);
        const json = shadow.logPayloads ? (outputNames ?? shadow.outputs.map((spec) => spec.name)) : [];
        const run = await this.inference.predictRaw(shadow, feeds, outputNames, { json }, deadline, true);
        const raw = (run.outputs as RawOutput[][])[0];
        const logged = loggedOutputs(raw.map((output) => toOipOutput(output, output.json === undefined)));
        return { outputs: comparableFromRaw(raw), logged };
      },
      servedOutputs: () => comparableFromRaw(served),
    };
  }

  /** Off the response path: a failed write only costs a later miss. */
  private store(
    key: string,
    servable: ServableVersion,
    request: { requested: string | undefined; epoch: string; inputHash: string },
    raw: RawOutput[],
  ): void {
    const outputs = outputsForCache(raw, this.config.cache.maxEntryBytes);
    if (outputs === undefined) return;
    const entry: CachedPrediction = {
      model: servable.name,
      requestedVersion: request.requested === undefined ? null : servable.version,
      epoch: request.epoch,
      sha256: servable.sha256,
      version: servable.version,
      outputs,
      inputHash: request.inputHash,
      expiresAt: Date.now() + servable.cache.ttlSeconds * 1000,
    };
    this.cache
      .put([key], entry)
      .catch((error: Error) => this.logger.warn({ msg: 'cache write failed', err: error.message }));
  }

  private recordAnswered(
    result: OipInferResult,
    { servable, inputHash }: Progress & { servable: ServableVersion },
    caller: Caller,
    context: OipInferContext,
  ): string {
    const latencyMs = elapsedMs(context.receivedAt);
    this.metrics.answered({ model: result.modelName, cache: result.cache, stages: result.stages }, latencyMs);
    return this.log.record({
      model: result.modelName,
      version: servable.version,
      status: 'ok',
      statusCode: 200,
      cached: result.cache === 'HIT',
      latencyMs,
      inputHash: inputHash ?? null,
      error: null,
      actor: caller.principal.actor,
      protocol: context.protocol,
      inputs: servable.logPayloads ? (context.loggedBody?.() ?? null) : null,
      outputs: servable.logPayloads ? loggedOutputs(result.outputs) : null,
    });
  }

  private recordFailed(
    error: unknown,
    name: string,
    version: string | undefined,
    servable: ServableVersion | undefined,
    caller: Caller,
    context: OipInferContext,
  ): void {
    const safe = toSafeError(error, `request id ${context.requestId}`);
    const statusCode = error instanceof DomainError ? STATUS_BY_KIND[error.kind] : 500;
    this.metrics.failed(servable?.name, statusCode);
    this.log.record({
      model: servable?.name ?? boundedName(name).slice(0, 64),
      version: servable?.version ?? (version !== undefined && /^\d{1,9}$/.test(version) ? Number(version) : null),
      status: safe.kind,
      statusCode,
      cached: false,
      latencyMs: elapsedMs(context.receivedAt),
      inputHash: null,
      error: safe.message,
      actor: caller.principal.actor,
      protocol: context.protocol,
      inputs: null,
      outputs: null,
    });
  }
}

/** How far an infer got, for its log row. */
interface Progress {
  servable?: ServableVersion;
  /** Only computed when the cache is consulted (a large binary input costs a few ms to hash). */
  inputHash?: string;
  /** The traffic policy's shadow run, when this infer is mirrored. */
  shadow?: ShadowMirror;
}

/**
 * Raw outputs as the shadow comparison reads them; undefined (not compared) when one is float16,
 * whose raw words are no numbers to compare.
 */
function comparableFromRaw(raw: readonly RawOutput[]): Map<string, ComparableTensor> | undefined {
  if (raw.some((output) => output.dtype === 'float16')) return undefined;
  return new Map(
    raw.map((output) => {
      const tensor = tensorFromRaw({ dtype: output.dtype, dims: output.dims, bytes: output.raw });
      return [output.name, { dtype: output.dtype, dims: output.dims, values: tensor.data }];
    }),
  );
}

/** Apart from /api/v1 entries: the same inputs answer another form of outputs there. */
function cacheHash(progress: Progress): string {
  return `oip:${progress.inputHash}`;
}

function tensorMetadata(spec: TensorSpec): OipTensorMetadata {
  return { name: spec.name, datatype: oipDatatypeOf(spec.dtype), shape: spec.shape };
}

/**
 * Whether each output goes out as binary data: its own `binary_data` parameter, else the
 * request's `binary_data_output`; every output of the model when none is named.
 */
function outputForms(specs: readonly TensorSpec[], request: OipInferRequest): Map<string, boolean> {
  if (request.outputs) return new Map(request.outputs.map((output) => [output.name, output.binary]));
  return new Map(specs.map((spec) => [spec.name, request.binaryOutputs]));
}

function toOipOutput(output: RawOutput, binary: boolean): OipOutput {
  return {
    name: output.name,
    datatype: oipDatatypeOf(output.dtype),
    shape: output.dims,
    raw: output.raw,
    binary,
    ...(output.json === undefined ? {} : { json: output.json }),
  };
}

/** The outputs as the prediction log keeps them: the JSON ones' data (binary ones by size). */
function loggedOutputs(outputs: readonly OipOutput[]): string {
  const parts = outputs.map(
    (o) =>
      `{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":${JSON.stringify(o.shape)},` +
      (o.json === undefined ? `"binary_data_size":${o.raw.byteLength}}` : `"data":${o.json}}`),
  );
  return `[${parts.join(',')}]`;
}

function defined(stages: PredictionStages): Record<string, number> {
  return Object.fromEntries(Object.entries(stages).filter(([, ms]) => ms !== undefined)) as Record<string, number>;
}

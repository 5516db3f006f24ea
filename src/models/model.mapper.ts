import { BATCHING_DEFAULTS, BatchingSettings } from './batching-settings';
import type { ModelDto } from './dto/model.dto';
import type { ModelVersionDto, TensorSpecDto } from './dto/model-version.dto';
import type { ModelVersionEntity } from './entities/model-version.entity';
import type { ModelEntity } from './entities/model.entity';
import type { TensorSpec } from '../inference/tensor-spec';
import type { CacheSettings, ServableVersion } from './servable-version';

/** The cache settings that apply to a model: its own, else the configured defaults. */
export function effectiveCache(
  entity: Pick<ModelEntity, 'cacheEnabled' | 'cacheTtlSeconds'>,
  defaults: CacheSettings,
): CacheSettings {
  return {
    enabled: entity.cacheEnabled ?? defaults.enabled,
    ttlSeconds: entity.cacheTtlSeconds ?? defaults.ttlSeconds,
  };
}

/**
 * The dynamic batching that applies to a model: its own, else BATCHING_DEFAULTS (off). The engine
 * batches a version only when this is enabled and the version's signature allows it (canBatch).
 */
export function effectiveBatching(
  entity: Pick<
    ModelEntity,
    'batchingEnabled' | 'batchingMaxBatchSize' | 'batchingMaxQueueDelayMs' | 'batchingPreferredBatchSizes'
  >,
): BatchingSettings {
  return {
    enabled: entity.batchingEnabled,
    maxBatchSize: entity.batchingMaxBatchSize ?? BATCHING_DEFAULTS.maxBatchSize,
    maxQueueDelayMs: entity.batchingMaxQueueDelayMs ?? BATCHING_DEFAULTS.maxQueueDelayMs,
    preferredBatchSizes: [...(entity.batchingPreferredBatchSizes ?? BATCHING_DEFAULTS.preferredBatchSizes)],
  };
}

/** The only place registry entities become response bodies; internal columns stay behind. */
export function toModelDto(entity: ModelEntity, defaults: CacheSettings): ModelDto {
  return {
    id: entity.id,
    name: entity.name,
    description: entity.description,
    tags: entity.tags,
    latestVersion: entity.latestVersion,
    aliases: entity.aliases,
    cache: effectiveCache(entity, defaults),
    logPayloads: entity.logPayloads,
    batching: effectiveBatching(entity),
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
  };
}

function toTensorSpecDto(spec: TensorSpec): TensorSpecDto {
  return {
    name: spec.name,
    dtype: spec.dtype,
    shape: spec.shape,
    ...(spec.dimNames?.some((d) => d !== null) ? { dimNames: spec.dimNames } : {}),
  };
}

export function toVersionDto(modelName: string, entity: ModelVersionEntity): ModelVersionDto {
  return {
    model: modelName,
    version: entity.version,
    status: entity.status,
    failureReason: entity.failureReason,
    description: entity.description,
    metadata: entity.metadata,
    sha256: entity.sha256,
    sizeBytes: entity.sizeBytes,
    irVersion: entity.irVersion,
    opsetVersion: entity.opsetVersion,
    producerName: entity.producerName,
    producerVersion: entity.producerVersion,
    inputs: entity.inputs.map(toTensorSpecDto),
    outputs: entity.outputs.map(toTensorSpecDto),
    createdAt: entity.createdAt.toISOString(),
  };
}

/** The only place registry entities become the read model other features consume. */
export function toServableVersion(
  model: ModelEntity,
  version: ModelVersionEntity,
  defaults: CacheSettings,
): ServableVersion {
  return {
    modelId: model.id,
    versionId: version.id,
    name: model.name,
    version: version.version,
    sha256: version.sha256,
    storageKey: version.storageKey,
    sizeBytes: version.sizeBytes,
    inputs: version.inputs,
    outputs: version.outputs,
    cache: effectiveCache(model, defaults),
    batching: effectiveBatching(model),
    logPayloads: model.logPayloads,
    traffic: model.traffic,
  };
}

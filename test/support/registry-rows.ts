import type { ModelVersionEntity } from '../../src/models/entities/model-version.entity';
import type { ModelEntity } from '../../src/models/entities/model.entity';
import type { ModelChangedEvent, ModelEvents } from '../../src/models/model-events';
import { CallLog, strictFake } from './strict-fake';

const AT = new Date('2026-01-02T03:04:05.000Z');

/** A `models` row as the registry's repositories return it, for strict fakes in unit specs. */
export function modelRow(name: string, fields: Partial<ModelEntity> = {}): ModelEntity {
  return {
    id: `model-${name}`,
    name,
    description: '',
    tags: [],
    aliases: {},
    versionCounter: 0,
    latestVersion: null,
    cacheEnabled: null,
    cacheTtlSeconds: null,
    logPayloads: false,
    batchingEnabled: false,
    batchingMaxBatchSize: null,
    batchingMaxQueueDelayMs: null,
    batchingPreferredBatchSizes: null,
    traffic: null,
    createdAt: AT,
    updatedAt: AT,
    ...fields,
  };
}

/** A `model_versions` row of `model`, ready, with a signature that batches (unless overridden). */
export function versionRow(model: ModelEntity, version: number, fields: Partial<ModelVersionEntity> = {}) {
  const row: ModelVersionEntity = {
    id: `${model.id}-v${version}`,
    modelId: model.id,
    version,
    status: 'ready',
    failureReason: null,
    description: '',
    sha256: String(version % 10).repeat(64),
    storageKey: `key-${model.name}-${version}`,
    sizeBytes: 100 + version,
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'unit',
    producerVersion: '1',
    inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 3] }],
    metadata: {},
    createdAt: AT,
    updatedAt: AT,
    ...fields,
  };
  return row;
}

/** A strict ModelEvents fake that keeps every `model.changed` published, in order, in `events`. */
export function publishedTo(events: ModelChangedEvent[], log: CallLog): ModelEvents {
  return strictFake<ModelEvents>(
    'events',
    {
      changed: (event: ModelChangedEvent) => {
        events.push(event);
        return Promise.resolve();
      },
    },
    log,
  );
}

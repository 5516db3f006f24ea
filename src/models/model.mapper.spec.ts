import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { effectiveBatching, toModelDto, toVersionDto } from './model.mapper';

describe('registry mapping', () => {
  const created = new Date('2026-01-02T03:04:05.000Z');

  it('maps a model entity to the Model body and drops internal columns', () => {
    const entity = Object.assign(new ModelEntity(), {
      id: 'id-1',
      name: 'iris',
      description: 'd',
      tags: ['a'],
      aliases: { champion: 2 },
      versionCounter: 9,
      latestVersion: 2,
      cacheEnabled: null,
      cacheTtlSeconds: 60,
      logPayloads: false,
      batchingEnabled: false,
      batchingMaxBatchSize: null,
      batchingMaxQueueDelayMs: null,
      batchingPreferredBatchSizes: null,
      createdAt: created,
      updatedAt: created,
    });
    assert.deepEqual(toModelDto(entity, { enabled: true, ttlSeconds: 300 }), {
      id: 'id-1',
      name: 'iris',
      description: 'd',
      tags: ['a'],
      latestVersion: 2,
      aliases: { champion: 2 },
      cache: { enabled: true, ttlSeconds: 60 },
      logPayloads: false,
      batching: { enabled: false, maxBatchSize: 8, maxQueueDelayMs: 0, preferredBatchSizes: [] },
      createdAt: '2026-01-02T03:04:05.000Z',
      updatedAt: '2026-01-02T03:04:05.000Z',
    });
  });

  it('gives the stored batching settings, else the defaults, as a copy the caller may keep', () => {
    const untouched = Object.assign(new ModelEntity(), {
      batchingEnabled: false,
      batchingMaxBatchSize: null,
      batchingMaxQueueDelayMs: null,
      batchingPreferredBatchSizes: null,
    });
    effectiveBatching(untouched).preferredBatchSizes.push(4);
    assert.deepEqual(
      effectiveBatching(untouched),
      { enabled: false, maxBatchSize: 8, maxQueueDelayMs: 0, preferredBatchSizes: [] },
      'the defaults, not shared with an earlier caller',
    );
    const set = Object.assign(new ModelEntity(), {
      batchingEnabled: true,
      batchingMaxBatchSize: 32,
      batchingMaxQueueDelayMs: 5,
      batchingPreferredBatchSizes: [8, 16],
    });
    assert.deepEqual(effectiveBatching(set), {
      enabled: true,
      maxBatchSize: 32,
      maxQueueDelayMs: 5,
      preferredBatchSizes: [8, 16],
    });
  });

  it('maps a version entity without its storage key, keeping dimNames only when named', () => {
    const entity = Object.assign(new ModelVersionEntity(), {
      id: 'v-1',
      modelId: 'id-1',
      version: 3,
      status: 'ready',
      description: '',
      sha256: 'f'.repeat(64),
      storageKey: 'sha256/ff/secret.onnx',
      sizeBytes: 10,
      irVersion: 8,
      opsetVersion: 17,
      producerName: 'p',
      producerVersion: '1',
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4], dimNames: ['batch', null] }],
      outputs: [{ name: 'y', dtype: 'int64', shape: [2], dimNames: [null] }],
      createdAt: created,
      updatedAt: created,
    });
    const dto = toVersionDto('iris', entity);
    assert.equal(dto.model, 'iris');
    assert.equal(dto.version, 3);
    assert.ok(!JSON.stringify(dto).includes('secret'));
    assert.ok(!('id' in dto) && !('modelId' in dto) && !('storageKey' in dto));
    assert.deepEqual(dto.inputs, [{ name: 'x', dtype: 'float32', shape: [-1, 4], dimNames: ['batch', null] }]);
    assert.deepEqual(dto.outputs, [{ name: 'y', dtype: 'int64', shape: [2] }]);
    assert.equal(dto.createdAt, '2026-01-02T03:04:05.000Z');
  });
});

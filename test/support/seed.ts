import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ModelVersionEntity } from '../../src/models/entities/model-version.entity';
import { ModelEntity } from '../../src/models/entities/model.entity';
import { ArtifactStore } from '../../src/storage/artifact-store';
import type { TestApp } from './test-app';

/**
 * Stores `bytes` through the ArtifactStore and inserts a ready version row, the way an upload
 * commits one. For registry tests that do not exercise the upload path itself.
 */
export async function seedVersion(t: TestApp, modelName: string, bytes: Buffer): Promise<ModelVersionEntity> {
  const store = t.app.get(ArtifactStore);
  const staged = await store.stage(Readable.from([bytes]), bytes.length + 1);
  const storageKey = await store.commit(staged);
  return t.dataSource.transaction(async (manager) => {
    const model = await manager.findOneByOrFail(ModelEntity, { name: modelName });
    const version = model.versionCounter + 1;
    await manager.update(ModelEntity, { id: model.id }, { versionCounter: version, latestVersion: version });
    return manager.save(
      manager.create(ModelVersionEntity, {
        modelId: model.id,
        version,
        status: 'ready',
        description: `seeded ${version}`,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        storageKey,
        sizeBytes: bytes.length,
        irVersion: 8,
        opsetVersion: 17,
        producerName: 'test',
        producerVersion: '1',
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4], dimNames: ['batch', null] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 3] }],
      }),
    );
  });
}

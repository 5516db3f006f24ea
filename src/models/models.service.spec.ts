import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { ALL_MIGRATIONS } from '../../migrations';
import { MemoryCacheStore } from '../cache/memory-cache-store';
import { PredictionCacheService } from '../cache/prediction-cache.service';
import { AppConfig } from '../config/app-config';
import { loadEnvironment } from '../config/environment';
import { ConflictError, ModelNotFoundError, VersionNotFoundError } from '../common/errors';
import { ENTITIES } from '../database/entities';
import { InferenceService } from '../inference/inference.service';
import { LocalArtifactStore } from '../storage/local-artifact-store';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { ModelVersionsService } from './model-versions.service';
import { ModelsService } from './models.service';
import { ServableVersionCache } from './servable-version-cache';
import { VersionCleanupService } from './version-cleanup.service';

/** The registry services over a real in-memory SQLite database (no mocks). */
describe('ModelsService and ModelVersionsService', () => {
  let ds: DataSource;
  let models: ModelsService;
  let versions: ModelVersionsService;
  let dataDir: string;
  let inference: InferenceService;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-unit-'));
    ds = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: ENTITIES,
      migrations: ALL_MIGRATIONS,
    });
    await ds.initialize();
    await ds.runMigrations();
    const config = new AppConfig(loadEnvironment({ DATA_DIR: dataDir, INFERENCE_WORKERS: '1' }));
    const store = new LocalArtifactStore(config);
    inference = new InferenceService(config, store);
    inference.onModuleInit();
    const versionRepo = ds.getRepository(ModelVersionEntity);
    const cleanup = new VersionCleanupService(versionRepo, store, inference);
    const servable = new ServableVersionCache();
    const cache = new PredictionCacheService(new MemoryCacheStore(1024 * 1024), config);
    models = new ModelsService(ds.getRepository(ModelEntity), versionRepo, cleanup, servable, cache, config);
    versions = new ModelVersionsService(versionRepo, ds, models, cleanup, store, servable, cache);
  });
  after(async () => {
    await inference.onApplicationShutdown();
    await ds.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates with defaults and refuses a duplicate with a ConflictError', async () => {
    const model = await models.create({ name: 'alpha' });
    assert.equal(model.description, '');
    assert.deepEqual(model.tags, []);
    await assert.rejects(models.create({ name: 'alpha' }), ConflictError);
  });

  it('throws ModelNotFoundError for unknown names', async () => {
    await assert.rejects(models.get('missing'), ModelNotFoundError);
    await assert.rejects(models.update('missing', {}), ModelNotFoundError);
    await assert.rejects(models.delete('missing'), ModelNotFoundError);
  });

  it('updates only the fields given', async () => {
    await models.create({ name: 'beta', description: 'keep', tags: ['x'] });
    const updated = await models.update('beta', { tags: ['y', 'z'] });
    assert.equal(updated.description, 'keep');
    assert.deepEqual(updated.tags, ['y', 'z']);
  });

  it('searches and filters in the database, counting the total before paging', async () => {
    await models.create({ name: 'gamma', description: 'Beta tester', tags: ['y'] });
    const page = await models.list({ skip: 0, limit: 1, q: 'beta' });
    assert.equal(page.total, 2);
    assert.equal(page.items.length, 1);
    const tagged = await models.list({ skip: 0, limit: 20, tag: 'y' });
    assert.deepEqual(tagged.items.map((m) => m.name).sort(), ['beta', 'gamma']);
  });

  it('throws VersionNotFoundError for a missing version and lists none for a new model', async () => {
    await assert.rejects(versions.get('alpha', 1), VersionNotFoundError);
    const page = await versions.list('alpha', { skip: 0, limit: 20 });
    assert.deepEqual(page, { items: [], total: 0, skip: 0, limit: 20 });
  });
});

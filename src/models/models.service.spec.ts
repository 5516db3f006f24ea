import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { ALL_MIGRATIONS } from '../../migrations';
import { AuditService } from '../auth/audit/audit.service';
import type { Caller } from '../auth/caller';
import { AuditEventEntity } from '../auth/entities/audit-event.entity';
import { AUTH_DISABLED_PRINCIPAL } from '../auth/principal';
import { MemoryCacheStore } from '../cache/memory-cache-store';
import { PredictionCacheService } from '../cache/prediction-cache.service';
import { AppConfig } from '../config/app-config';
import { loadEnvironment } from '../config/environment';
import { ConflictError, ForbiddenError, ModelNotFoundError, VersionNotFoundError } from '../common/errors';
import { ENTITIES } from '../database/entities';
import { InferenceService } from '../inference/inference.service';
import { LocalArtifactStore } from '../storage/local-artifact-store';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { effectiveBatching } from './model.mapper';
import { ModelVersionsService } from './model-versions.service';
import { ModelsService } from './models.service';
import { ServableVersionCache } from './servable-version-cache';
import { VersionCleanupService } from './version-cleanup.service';

const caller: Caller = { principal: AUTH_DISABLED_PRINCIPAL, requestId: 'unit' };

/** A caller whose credential may touch only models matching `patterns`. */
function scoped(...patterns: string[]): Caller {
  return { principal: { ...AUTH_DISABLED_PRINCIPAL, role: 'maintainer', models: patterns }, requestId: 'unit-scoped' };
}

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
    await inference.onModuleInit();
    const versionRepo = ds.getRepository(ModelVersionEntity);
    const cleanup = new VersionCleanupService(versionRepo, store, inference);
    const servable = new ServableVersionCache();
    const cache = new PredictionCacheService(new MemoryCacheStore(1024 * 1024), config);
    const audit = new AuditService();
    models = new ModelsService(ds.getRepository(ModelEntity), versionRepo, ds, audit, cleanup, servable, cache, config);
    versions = new ModelVersionsService(versionRepo, ds, audit, models, cleanup, store, servable, cache);
  });
  after(async () => {
    await inference.onApplicationShutdown();
    await ds.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates with defaults and refuses a duplicate with a ConflictError', async () => {
    const model = await models.create({ name: 'alpha' }, caller);
    assert.equal(model.description, '');
    assert.deepEqual(model.tags, []);
    await assert.rejects(models.create({ name: 'alpha' }, caller), ConflictError);
  });

  it('throws ModelNotFoundError for unknown names', async () => {
    await assert.rejects(models.get('missing', caller), ModelNotFoundError);
    await assert.rejects(models.update('missing', {}, caller), ModelNotFoundError);
    await assert.rejects(models.delete('missing', caller), ModelNotFoundError);
  });

  it('updates only the fields given', async () => {
    await models.create({ name: 'beta', description: 'keep', tags: ['x'] }, caller);
    const updated = await models.update('beta', { tags: ['y', 'z'] }, caller);
    assert.equal(updated.description, 'keep');
    assert.deepEqual(updated.tags, ['y', 'z']);
  });

  it('searches and filters in the database, counting the total before paging', async () => {
    await models.create({ name: 'gamma', description: 'Beta tester', tags: ['y'] }, caller);
    const page = await models.list({ skip: 0, limit: 1, q: 'beta' }, caller);
    assert.equal(page.total, 2);
    assert.equal(page.items.length, 1);
    const tagged = await models.list({ skip: 0, limit: 20, tag: 'y' }, caller);
    assert.deepEqual(tagged.items.map((m) => m.name).sort(), ['beta', 'gamma']);
  });

  it('throws VersionNotFoundError for a missing version and lists none for a new model', async () => {
    await assert.rejects(versions.get('alpha', 1, caller), VersionNotFoundError);
    const page = await versions.list('alpha', { skip: 0, limit: 20 }, caller);
    assert.deepEqual(page, { items: [], total: 0, skip: 0, limit: 20 });
  });

  it('records each write with its audit event, and nothing for a refused one', async () => {
    const audit = ds.getRepository(AuditEventEntity);
    const before = await audit.countBy({ target: 'model:delta' });
    await models.create({ name: 'delta' }, caller);
    await assert.rejects(models.create({ name: 'delta' }, caller), ConflictError);
    await models.update('delta', { description: 'secret-ish text', cache: { enabled: true } }, caller);
    const rows = await audit.findBy({ target: 'model:delta' });
    assert.equal(before, 0);
    assert.deepEqual(rows.map((r) => r.action).sort(), ['model.create', 'model.update']);
    const update = rows.find((r) => r.action === 'model.update');
    assert.deepEqual(JSON.parse(update?.details ?? 'null'), {
      fields: ['description', 'cache'],
      cache: { enabled: true },
    });
    assert.equal(update?.requestId, 'unit');
    assert.equal(update?.actor, 'auth-disabled');
  });

  it('hands the batching settings to the servable read model, fresh after a change', async () => {
    await models.create({ name: 'batching' }, caller);
    const model = await models.findEntity('batching');
    await ds.getRepository(ModelVersionEntity).save({
      modelId: model.id,
      version: 1,
      status: 'ready',
      sha256: '0'.repeat(64),
      storageKey: 'unused',
      sizeBytes: 1,
      irVersion: 8,
      opsetVersion: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 3] }],
    });
    await ds.getRepository(ModelEntity).update({ id: model.id }, { versionCounter: 1, latestVersion: 1 });
    const before = await versions.resolveServable('batching', undefined, 'epoch-1');
    assert.deepEqual(effectiveBatching(before.model), {
      enabled: false,
      maxBatchSize: 8,
      maxQueueDelayMs: 0,
      preferredBatchSizes: [],
    });
    await models.update(
      'batching',
      { batching: { enabled: true, maxQueueDelayMs: 3, preferredBatchSizes: [4] } },
      caller,
    );
    const after = await versions.resolveServable('batching', undefined, 'epoch-1');
    assert.deepEqual(effectiveBatching(after.model), {
      enabled: true,
      maxBatchSize: 8,
      maxQueueDelayMs: 3,
      preferredBatchSizes: [4],
    });
  });

  it('filters lists by model patterns in SQL, escaping LIKE wildcards, and refuses other models', async () => {
    await models.create({ name: 'a_b1' }, caller);
    await models.create({ name: 'axb1' }, caller);
    const page = await models.list({ skip: 0, limit: 20 }, scoped('a_b*'));
    assert.deepEqual(
      page.items.map((m) => m.name),
      ['a_b1'],
    );
    assert.equal(page.total, 1);
    await assert.rejects(models.get('axb1', scoped('a_b*')), ForbiddenError);
    await assert.rejects(models.get('no-such-model', scoped('a_b*')), ForbiddenError);
    await assert.rejects(models.create({ name: 'zeta' }, scoped('a_b*')), ForbiddenError);
    assert.equal((await models.get('a_b1', scoped('a_b*'))).name, 'a_b1');
  });
});

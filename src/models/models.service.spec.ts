import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callNames, CallLog, strictFake } from '../../test/support/strict-fake';
import { modelRow, publishedTo, versionRow } from '../../test/support/registry-rows';
import type { Caller } from '../auth/caller';
import { AUTH_DISABLED_PRINCIPAL } from '../auth/principal';
import { ConflictError, ForbiddenError, InvalidInputError, ModelNotFoundError } from '../common/errors';
import type { AppConfig } from '../config/app-config';
import type { ModelEntity } from './entities/model.entity';
import type { ModelChangedEvent } from './model-events';
import type { ModelVersionRepository } from './model-version.repository';
import type { ModelRepository } from './model.repository';
import { ModelsService } from './models.service';
import type { AuditRecord } from './registry-audit';
import type { VersionCleanupService } from './version-cleanup.service';

const caller: Caller = { principal: AUTH_DISABLED_PRINCIPAL, requestId: 'unit' };
const scoped = (...patterns: string[]): Caller => ({
  principal: { ...AUTH_DISABLED_PRINCIPAL, role: 'maintainer', models: patterns },
  requestId: 'unit-scoped',
});

/**
 * ModelsService against strict fakes: each spec gives only the repository methods it expects to
 * be called, and every call lands in one log, so the order of commit and event is asserted.
 */
function setup(fakes: { models?: Partial<ModelRepository>; versions?: Partial<ModelVersionRepository> }) {
  const log: CallLog = [];
  const events: ModelChangedEvent[] = [];
  const service = new ModelsService(
    strictFake<ModelRepository>('models', fakes.models ?? {}, log),
    strictFake<ModelVersionRepository>('versions', fakes.versions ?? {}, log),
    publishedTo(events, log),
    strictFake<VersionCleanupService>('cleanup', { afterDelete: () => Promise.resolve() }, log),
    strictFake<AppConfig>('config', { cache: { defaults: { enabled: true, ttlSeconds: 300 } } as AppConfig['cache'] }),
  );
  return { service, log, events };
}

/** What a repository write was given as its audit event. */
function auditOf(log: CallLog, call: string): AuditRecord {
  const entry = log.find((c) => c.call === call);
  assert.ok(entry, `${call} was called`);
  return entry.args[entry.args.length - 1] as AuditRecord;
}

describe('ModelsService', () => {
  it('creates a model with defaults, audits it, then announces it as created', async () => {
    const { service, log, events } = setup({
      models: {
        exists: () => Promise.resolve(false),
        insert: (fields) => Promise.resolve(modelRow(fields.name, fields)),
      },
    });
    const dto = await service.create({ name: 'iris', tags: ['a'] }, caller);
    assert.deepEqual(callNames(log), ['models.exists', 'models.insert', 'events.changed']);
    assert.equal(dto.name, 'iris');
    assert.deepEqual(dto.cache, { enabled: true, ttlSeconds: 300 }, 'the configured defaults apply');
    assert.equal(dto.batching.enabled, false);
    assert.deepEqual(auditOf(log, 'models.insert').entry, {
      action: 'model.create',
      target: 'model:iris',
      details: { tags: ['a'], logPayloads: false },
    });
    assert.deepEqual(events, [{ model: 'iris', kind: 'created', servingChanged: false, released: [] }]);
  });

  it('refuses a taken name before writing, and when a concurrent create won, without an event', async () => {
    const taken = setup({ models: { exists: () => Promise.resolve(true) } });
    await assert.rejects(taken.service.create({ name: 'iris' }, caller), ConflictError);
    assert.deepEqual(callNames(taken.log), ['models.exists']);

    const raced = setup({ models: { exists: () => Promise.resolve(false), insert: () => Promise.resolve(undefined) } });
    await assert.rejects(raced.service.create({ name: 'iris' }, caller), /already exists/);
    assert.deepEqual(raced.events, []);
  });

  it('refuses a model outside the credential scope before touching anything', async () => {
    const { service, log } = setup({});
    await assert.rejects(service.create({ name: 'iris' }, scoped('fraud-*')), ForbiddenError);
    await assert.rejects(service.get('iris', scoped('fraud-*')), ForbiddenError);
    await assert.rejects(service.update('iris', { description: 'x' }, scoped('fraud-*')), ForbiddenError);
    await assert.rejects(service.delete('iris', scoped('fraud-*')), ForbiddenError);
    await assert.rejects(service.flushCache('iris', scoped('fraud-*')), ForbiddenError);
    assert.deepEqual(log, []);
  });

  it("lists with the caller's patterns, search and paging handed to the repository", async () => {
    const { service, log } = setup({ models: { page: () => Promise.resolve([[modelRow('fraud-a')], 7]) } });
    const page = await service.list({ skip: 5, limit: 1, q: 'fr', tag: 't' }, scoped('fraud-*'));
    assert.deepEqual(log[0].args, [{ patterns: ['fraud-*'], q: 'fr', tag: 't', skip: 5, limit: 1 }]);
    assert.deepEqual([page.items.map((m) => m.name), page.total, page.skip, page.limit], [['fraud-a'], 7, 5, 1]);
  });

  it('announces an update as a serving change only when it touches what predictions read', async () => {
    const saved: ModelEntity[] = [];
    const fakes = {
      models: {
        getByName: (name: string) => Promise.resolve(modelRow(name)),
        save: (model: ModelEntity) => {
          saved.push({ ...model });
          return Promise.resolve(model);
        },
      },
    };
    const { service, log, events } = setup(fakes);
    const described = await service.update('iris', { description: 'new', tags: ['b'] }, caller);
    assert.equal(described.description, 'new');
    await service.update('iris', { cache: { ttlSeconds: 60 } }, caller);
    await service.update('iris', { logPayloads: true }, caller);
    assert.deepEqual(
      events.map((e) => [e.kind, e.servingChanged]),
      [
        ['updated', false],
        ['updated', true],
        ['updated', true],
      ],
    );
    assert.deepEqual([saved[1].cacheTtlSeconds, saved[1].cacheEnabled, saved[2].logPayloads], [60, null, true]);
    assert.deepEqual(auditOf(log, 'models.save').entry, {
      action: 'model.update',
      target: 'model:iris',
      details: { fields: ['description', 'tags'], tags: ['b'] },
    });
    assert.deepEqual(callNames(log).slice(0, 3), ['models.getByName', 'models.save', 'events.changed']);
  });

  it('turns batching on only when every version batches, checked before anything is saved', async () => {
    const iris = modelRow('iris');
    const fixed = versionRow(iris, 2, { inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }] });
    const refused = setup({
      models: { getByName: () => Promise.resolve(iris) },
      versions: { forModel: () => Promise.resolve([versionRow(iris, 1), fixed]) },
    });
    await assert.rejects(
      refused.service.update('iris', { description: 'kept back', batching: { enabled: true } }, caller),
      (error: InvalidInputError) => /version 2/.test(error.message) && error.details?.length === 1,
    );
    assert.deepEqual(callNames(refused.log), ['models.getByName', 'versions.forModel']);

    const accepted = setup({
      models: { getByName: () => Promise.resolve(modelRow('iris')), save: (model) => Promise.resolve(model) },
      versions: { forModel: () => Promise.resolve([versionRow(iris, 1)]) },
    });
    const dto = await accepted.service.update('iris', { batching: { enabled: true, maxQueueDelayMs: 3 } }, caller);
    assert.deepEqual(dto.batching, { enabled: true, maxBatchSize: 8, maxQueueDelayMs: 3, preferredBatchSizes: [] });
    assert.deepEqual(accepted.events[0], { model: 'iris', kind: 'updated', servingChanged: true, released: [] });
  });

  it('deletes a model with its audit event, then hands the artifacts it released to the cleanup', async () => {
    const iris = modelRow('iris');
    const versions = [versionRow(iris, 1), versionRow(iris, 3)];
    const released = [{ sha256: versions[1].sha256, storageKey: versions[1].storageKey }];
    const { service, log } = setup({
      models: { getByName: () => Promise.resolve(iris), delete: () => Promise.resolve(released) },
      versions: { forModel: () => Promise.resolve(versions) },
    });
    await service.delete('iris', caller);
    assert.deepEqual(callNames(log), ['models.getByName', 'versions.forModel', 'models.delete', 'cleanup.afterDelete']);
    assert.deepEqual(log[2].args.slice(0, 2), [iris, versions]);
    assert.deepEqual(auditOf(log, 'models.delete').entry.details, { versions: [1, 3] });
    assert.deepEqual(log[3].args, ['iris', 'deleted', released]);
  });

  it('clears the cache by an event once its audit event committed, and not at all when that fails', async () => {
    const { service, log, events } = setup({
      models: { getByName: (name) => Promise.resolve(modelRow(name)), record: () => Promise.resolve() },
    });
    await service.flushCache('iris', caller);
    assert.deepEqual(callNames(log), ['models.getByName', 'models.record', 'events.changed']);
    assert.deepEqual(auditOf(log, 'models.record').entry, { action: 'model.cache.clear', target: 'model:iris' });
    assert.deepEqual(events, [{ model: 'iris', kind: 'cache-cleared', servingChanged: true, released: [] }]);

    const failing = setup({
      models: {
        getByName: (name) => Promise.resolve(modelRow(name)),
        record: () => Promise.reject(new Error('database gone')),
      },
    });
    await assert.rejects(failing.service.flushCache('iris', caller), /database gone/);
    assert.deepEqual(failing.events, []);
  });

  it('passes on ModelNotFoundError for an unknown model, with no write and no event', async () => {
    const missing = (name: string): Promise<ModelEntity> => Promise.reject(new ModelNotFoundError(name));
    const { service, log, events } = setup({ models: { getByName: missing } });
    await assert.rejects(service.get('nope', caller), ModelNotFoundError);
    await assert.rejects(service.update('nope', { tags: [] }, caller), ModelNotFoundError);
    await assert.rejects(service.delete('nope', caller), ModelNotFoundError);
    await assert.rejects(service.flushCache('nope', caller), ModelNotFoundError);
    assert.deepEqual(new Set(callNames(log)), new Set(['models.getByName']));
    assert.deepEqual(events, []);
  });
});

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { modelRow, versionRow } from '../../test/support/registry-rows';
import { callNames, CallLog, strictFake } from '../../test/support/strict-fake';
import type { Caller } from '../auth/caller';
import { AUTH_DISABLED_PRINCIPAL } from '../auth/principal';
import { ForbiddenError, ModelNotFoundError, VersionNotFoundError } from '../common/errors';
import type { ArtifactStore } from '../storage/artifact-store';
import type { ModelEvents } from './model-events';
import type { ModelVersionRepository } from './model-version.repository';
import { ModelVersionsService } from './model-versions.service';
import type { ModelRepository } from './model.repository';
import type { AuditRecord } from './registry-audit';
import type { VersionCleanupService } from './version-cleanup.service';

const caller: Caller = { principal: AUTH_DISABLED_PRINCIPAL, requestId: 'unit' };
const iris = modelRow('iris', { latestVersion: 2, versionCounter: 2 });
const v1 = versionRow(iris, 1);
const v2 = versionRow(iris, 2);

/** ModelVersionsService against strict fakes; the registry has `iris` with versions 1 and 2. */
function setup(versions: Partial<ModelVersionRepository>, store: Partial<ArtifactStore> = {}) {
  const log: CallLog = [];
  const models: Partial<ModelRepository> = {
    getByName: (name) => (name === 'iris' ? Promise.resolve(iris) : Promise.reject(new ModelNotFoundError(name))),
  };
  const service = new ModelVersionsService(
    strictFake<ModelRepository>('models', models, log),
    strictFake<ModelVersionRepository>('versions', versions, log),
    strictFake<VersionCleanupService>('cleanup', { afterDelete: () => Promise.resolve() }, log),
    strictFake<ArtifactStore>('store', store, log),
    strictFake<ModelEvents>('events', {}, log),
  );
  return { service, log };
}

const find: Partial<ModelVersionRepository>['find'] = (_modelId, version) =>
  Promise.resolve([v1, v2].find((v) => v.version === version) ?? null);

describe('ModelVersionsService', () => {
  it('deletes a version with its audit event, then hands the artifact it released to the cleanup', async () => {
    const released = [{ sha256: v2.sha256, storageKey: v2.storageKey }];
    const { service, log } = setup({ find, delete: () => Promise.resolve(released) });
    await service.delete('iris', 2, caller);
    assert.deepEqual(callNames(log), ['models.getByName', 'versions.find', 'versions.delete', 'cleanup.afterDelete']);
    const [deleted, audit] = log[2].args as [unknown, AuditRecord];
    assert.equal(deleted, v2);
    assert.deepEqual(audit, {
      caller,
      entry: { action: 'version.delete', target: 'version:iris/2', details: { sha256: v2.sha256 } },
    });
    assert.deepEqual(log[3].args, ['iris', 'version-deleted', released]);
  });

  it('refuses a missing version or model, and a scope that does not cover it, without a write or event', async () => {
    const { service, log } = setup({ find });
    await assert.rejects(service.delete('iris', 9, caller), VersionNotFoundError);
    await assert.rejects(service.delete('nope', 1, caller), ModelNotFoundError);
    const other: Caller = { ...caller, principal: { ...caller.principal, role: 'maintainer', models: ['fraud-*'] } };
    await assert.rejects(service.delete('iris', 1, other), ForbiddenError);
    await assert.rejects(service.get('iris', 1, other), ForbiddenError);
    assert.deepEqual(callNames(log), ['models.getByName', 'versions.find', 'models.getByName']);
  });

  it('lists newest first with the paging handed to the repository, mapped without internal columns', async () => {
    const { service, log } = setup({ page: () => Promise.resolve([[v2, v1], 2]) });
    const page = await service.list('iris', { skip: 0, limit: 2 }, caller);
    assert.deepEqual(log[1].args, [iris.id, 0, 2]);
    assert.deepEqual(
      page.items.map((v) => [v.model, v.version]),
      [
        ['iris', 2],
        ['iris', 1],
      ],
    );
    assert.equal('storageKey' in page.items[0], false);
  });

  it('gets one version, and opens its file through the store by its storage key', async () => {
    const bytes = Readable.from([Buffer.from('onnx')]);
    const { service, log } = setup({ find }, { openRead: () => Promise.resolve(bytes) });
    assert.equal((await service.get('iris', 1, caller)).sha256, v1.sha256);
    const file = await service.openFile('iris', 2, caller);
    assert.equal(file.stream, bytes);
    assert.equal(file.sizeBytes, v2.sizeBytes);
    assert.deepEqual(log.at(-1)?.args, [v2.storageKey]);
  });
});

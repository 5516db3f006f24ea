import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelRow, versionRow } from '../../test/support/registry-rows';
import { callNames, CallLog, strictFake } from '../../test/support/strict-fake';
import { ConflictError, ModelNotFoundError, NotFoundError, VersionNotFoundError } from '../common/errors';
import type { AppConfig } from '../config/app-config';
import type { ModelVersionEntity } from './entities/model-version.entity';
import type { ModelEntity } from './entities/model.entity';
import type { ModelVersionRepository } from './model-version.repository';
import type { ModelRepository } from './model.repository';
import { ServableVersionCache } from './servable-version-cache';
import { ServableVersionsService } from './servable-versions.service';
import { trafficPick } from './traffic-policy';

/** ServableVersionsService against strict fakes of the repositories, with a real resolution cache. */
function setup(models: ModelEntity[], versions: ModelVersionEntity[]) {
  const log: CallLog = [];
  const service = new ServableVersionsService(
    strictFake<ModelRepository>(
      'models',
      {
        getByName: (name) => {
          const model = models.find((m) => m.name === name);
          return model ? Promise.resolve(model) : Promise.reject(new ModelNotFoundError(name));
        },
      },
      log,
    ),
    strictFake<ModelVersionRepository>(
      'versions',
      {
        find: (modelId, version) =>
          Promise.resolve(versions.find((v) => v.modelId === modelId && v.version === version) ?? null),
        findWithModel: (id) => {
          const version = versions.find((v) => v.id === id);
          const model = models.find((m) => m.id === version?.modelId);
          return Promise.resolve(version && model ? { model, version } : null);
        },
      },
      log,
    ),
    new ServableVersionCache({ now: () => 0 }),
    strictFake<AppConfig>('config', { cache: { defaults: { enabled: false, ttlSeconds: 300 } } as AppConfig['cache'] }),
  );
  return { service, log };
}

const iris = modelRow('iris', {
  latestVersion: 2,
  versionCounter: 3,
  cacheEnabled: true,
  logPayloads: true,
  batchingEnabled: true,
  batchingMaxBatchSize: 16,
});
const fresh = modelRow('fresh');
const versions = [versionRow(iris, 1), versionRow(iris, 2), versionRow(iris, 3, { status: 'failed' })];

describe('ServableVersionsService', () => {
  it("resolves the model's latest ready version to the read model, settings resolved against the defaults", async () => {
    const { service } = setup([iris], versions);
    assert.deepEqual(await service.resolve('iris'), {
      modelId: iris.id,
      versionId: versions[1].id,
      name: 'iris',
      version: 2,
      sha256: versions[1].sha256,
      storageKey: versions[1].storageKey,
      sizeBytes: versions[1].sizeBytes,
      inputs: versions[1].inputs,
      outputs: versions[1].outputs,
      cache: { enabled: true, ttlSeconds: 300 },
      batching: { enabled: true, maxBatchSize: 16, maxQueueDelayMs: 0, preferredBatchSizes: [] },
      logPayloads: true,
      traffic: null,
    });
    assert.equal((await service.resolve('iris', 1)).version, 1);
  });

  it('refuses what cannot run: 409 for a version not ready, 404 for none ready, a missing version or model', async () => {
    const { service } = setup([iris, fresh], versions);
    await assert.rejects(
      service.resolve('iris', 3),
      (e: ConflictError) => e instanceof ConflictError && /failed/.test(e.message),
    );
    await assert.rejects(
      service.resolve('fresh'),
      (e: Error) => e instanceof NotFoundError && /no ready version/.test(e.message),
    );
    await assert.rejects(service.resolve('iris', 7), VersionNotFoundError);
    await assert.rejects(service.resolve('nope'), ModelNotFoundError);
  });

  it('resolves an alias to its target; archived serves only when pinned by number', async () => {
    const ranked = modelRow('ranked', { latestVersion: 1, aliases: { champion: 1, old: 2, broken: 3 } });
    const rows = [
      versionRow(ranked, 1),
      versionRow(ranked, 2, { status: 'archived' }),
      versionRow(ranked, 3, { status: 'failed' }),
    ];
    const { service } = setup([ranked], rows);
    assert.equal((await service.resolve('ranked', 'champion')).version, 1);
    assert.equal((await service.resolve('ranked', 2)).version, 2);
    await assert.rejects(
      service.resolve('ranked', 'old'),
      (e: Error) =>
        e instanceof ConflictError && /Alias 'old' of 'ranked' points at version 2, which is archived/.test(e.message),
    );
    await assert.rejects(service.resolve('ranked', 'broken'), ConflictError);
    await assert.rejects(service.resolve('ranked', 3), ConflictError);
    for (const alias of ['nobody', 'constructor', 'toString']) {
      await assert.rejects(
        service.resolve('ranked', alias),
        (e: Error) => e instanceof NotFoundError && e.message === `Model 'ranked' has no alias '${alias}'`,
      );
    }
  });

  it('a request naming no version follows the traffic policy, by sticky header when set; latest stays the latest', async () => {
    const traffic = {
      split: [
        { version: 1, weight: 1 },
        { version: 'champion', weight: 1 },
      ],
      sticky: { header: 'x-user' },
    };
    const split = modelRow('split', { latestVersion: 3, aliases: { champion: 2 }, traffic });
    const { service } = setup([split], [versionRow(split, 1), versionRow(split, 2), versionRow(split, 3)]);
    assert.equal((await service.resolve('split', 'latest')).version, 3);
    assert.equal((await service.resolve('split', 1)).version, 1);
    const served = new Set<number>();
    for (let i = 0; i < 200; i++) served.add((await service.resolve('split')).version);
    assert.deepEqual([...served].sort(), [1, 2]);
    for (const user of ['alice', 'bob', 'carol']) {
      const headers = (name: string) => (name === 'x-user' ? user : undefined);
      const first = (await service.resolve('split', undefined, undefined, trafficPick(headers))).version;
      for (let i = 0; i < 20; i++)
        assert.equal((await service.resolve('split', undefined, 'epoch-1', trafficPick(headers))).version, first);
    }
  });

  it('remembers a resolution per cache generation, and asks the database every time without one', async () => {
    const { service, log } = setup([iris], versions);
    const first = await service.resolve('iris', undefined, 'epoch-1');
    assert.equal(await service.resolve('iris', undefined, 'epoch-1'), first);
    assert.equal(log.length, 2, 'the second resolution came from memory');
    await service.resolve('iris', undefined, 'epoch-2');
    await service.resolve('iris', 2, 'epoch-2');
    assert.equal(log.length, 6, 'another generation or version number is another entry');
    log.length = 0;
    await service.resolve('iris');
    await service.resolve('iris');
    assert.deepEqual(callNames(log), ['models.getByName', 'versions.find', 'models.getByName', 'versions.find']);
  });

  it('finds the version a job recorded by its id, ready or not, and nothing once deleted', async () => {
    const { service } = setup([iris], versions);
    const failed = await service.byId(versions[2].id);
    assert.deepEqual([failed?.name, failed?.version, failed?.sha256], ['iris', 3, versions[2].sha256]);
    assert.equal(await service.byId('deleted'), null);
  });
});

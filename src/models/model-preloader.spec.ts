import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { modelRow, versionRow } from '../../test/support/registry-rows';
import { callNames, CallLog, strictFake } from '../../test/support/strict-fake';
import type { AppConfig } from '../config/app-config';
import type { InferenceService } from '../inference/inference.service';
import type { ArtifactStore } from '../storage/artifact-store';
import type { ModelEvents } from './model-events';
import { ModelPreloader } from './model-preloader';
import type { ModelVersionRepository } from './model-version.repository';

const BYTES = Buffer.from('the onnx bytes as uploaded');
const iris = modelRow('iris');
const version = versionRow(iris, 2, { sha256: createHash('sha256').update(BYTES).digest('hex') });

/** A preloader whose every load fails; the store holds `stored` (undefined: nothing) under the version's key. */
function setup(stored: Buffer | undefined) {
  const log: CallLog = [];
  const preloader = new ModelPreloader(
    strictFake<AppConfig>('config', { inference: { load: 'eager', maxLoadedVersions: 4 } as AppConfig['inference'] }),
    strictFake<InferenceService>(
      'inference',
      { load: () => Promise.reject(new Error('protobuf parsing failed')) },
      log,
    ),
    strictFake<ModelVersionRepository>(
      'versions',
      {
        recentReady: () => Promise.resolve([version]),
        markFailed: () => Promise.resolve([{ model: 'iris', version: 2 }]),
      },
      log,
    ),
    strictFake<ArtifactStore>(
      'store',
      {
        exists: () => Promise.resolve(stored !== undefined),
        openRead: () => Promise.resolve(Readable.from([stored as Buffer])),
      },
      log,
    ),
    strictFake<ModelEvents>('events', { changed: () => Promise.resolve() }, log),
  );
  return { preloader, log };
}

describe('ModelPreloader', () => {
  it('marks a version failed when its load fails and its bytes no longer match, and says so', async () => {
    const { preloader, log } = setup(BYTES.subarray(0, 10));
    await preloader.onApplicationBootstrap();
    assert.deepEqual(callNames(log), [
      'versions.recentReady',
      'inference.load',
      'store.exists',
      'store.openRead',
      'versions.markFailed',
      'events.changed',
    ]);
    const [sha256, reason] = log[4].args as [string, string];
    assert.equal(sha256, version.sha256);
    assert.match(reason, /no longer matches its sha256 .*; upload the model again$/);
    assert.deepEqual(log[5].args, [{ model: 'iris', kind: 'version-updated', servingChanged: true, released: [] }]);
    assert.equal(preloader.failedVersions, 1);
  });

  it('marks it failed when its file is gone', async () => {
    const { preloader, log } = setup(undefined);
    await preloader.onApplicationBootstrap();
    assert.match((log.find((c) => c.call === 'versions.markFailed')?.args[1] as string) ?? '', /missing/);
  });

  it('leaves a version whose bytes are intact: the failed load may be transient', async () => {
    const { preloader, log } = setup(BYTES);
    await preloader.onApplicationBootstrap();
    assert.ok(!callNames(log).includes('versions.markFailed'));
    assert.equal(preloader.failedVersions, 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callNames, CallLog, strictFake } from '../../test/support/strict-fake';
import type { ArtifactStore } from '../storage/artifact-store';
import { publishedTo } from '../../test/support/registry-rows';
import type { ModelChangedEvent } from './model-events';
import { VersionCleanupService } from './version-cleanup.service';

const artifact = (n: string) => ({ sha256: n.repeat(64), storageKey: `key-${n}` });

/** The cleanup against strict fakes: published events and store calls land in one log. */
function setup(store: Partial<ArtifactStore>) {
  const log: CallLog = [];
  const events: ModelChangedEvent[] = [];
  const cleanup = new VersionCleanupService(publishedTo(events, log), strictFake<ArtifactStore>('store', store, log));
  return { cleanup, log, events };
}

describe('VersionCleanupService', () => {
  it('announces a committed delete, so the engine unloads first, then removes the released bytes', async () => {
    const { cleanup, log, events } = setup({
      remove: (key: string) => (key === 'key-a' ? Promise.reject(new Error('disk gone')) : Promise.resolve()),
    });
    await cleanup.afterDelete('iris', 'version-deleted', [artifact('a'), artifact('b')]);
    assert.deepEqual(callNames(log), ['events.changed', 'store.remove', 'store.remove']);
    assert.deepEqual(events, [
      { model: 'iris', kind: 'version-deleted', servingChanged: true, released: ['a'.repeat(64), 'b'.repeat(64)] },
    ]);
    assert.deepEqual(
      log.slice(1).map((c) => c.args[0]),
      ['key-a', 'key-b'],
      'a removal that fails (logged) does not stop the next',
    );
  });

  it('announces a delete that released nothing, and touches no file', async () => {
    const { cleanup, events } = setup({});
    await cleanup.afterDelete('iris', 'deleted', []);
    assert.deepEqual(events, [{ model: 'iris', kind: 'deleted', servingChanged: true, released: [] }]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '../config/app-config';
import type { ModelChangedEvent } from '../models/model-events';
import { CallLog, callNames, strictFake } from '../../test/support/strict-fake';
import { CacheStore } from './cache-store';
import { PredictionCacheService } from './prediction-cache.service';

const event = (kind: ModelChangedEvent['kind'], servingChanged: boolean): ModelChangedEvent => ({
  model: 'iris',
  kind,
  servingChanged,
  released: [],
});

/** The service on a store that only records generation writes. */
function serviceWithLog(): { service: PredictionCacheService; log: CallLog } {
  const log: CallLog = [];
  const store = strictFake<CacheStore>(
    'store',
    { bumpEpoch: () => Promise.resolve(), dropEpoch: () => Promise.resolve() },
    log,
  );
  return { service: new PredictionCacheService(store, strictFake<AppConfig>('config', {})), log };
}

describe('PredictionCacheService on model.changed', () => {
  it('moves the shared generation for a write made here: a new one on a serving change, none for a deleted model', async () => {
    const { service, log } = serviceWithLog();
    await service.onModelChanged(event('updated', false));
    await service.onModelChanged(event('alias-changed', true));
    await service.onModelChanged(event('deleted', true));
    assert.deepEqual(callNames(log), ['store.bumpEpoch', 'store.dropEpoch']);
  });

  it('leaves the generation alone for a write heard from another replica, which already moved it', async () => {
    const { service, log } = serviceWithLog();
    await service.onModelChanged({ ...event('alias-changed', true), fromReplica: true });
    await service.onModelChanged({ ...event('deleted', true), fromReplica: true });
    assert.deepEqual(callNames(log), []);
  });
});

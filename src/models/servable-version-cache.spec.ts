import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelChangedEvent } from './model-events';
import { RESOLVE_CACHE_MAX_ENTRIES, RESOLVE_CACHE_MS, ServableVersionCache } from './servable-version-cache';
import type { ServableVersion } from './servable-version';

function servable(name: string, version = 1): ServableVersion {
  return {
    modelId: `m-${name}`,
    versionId: `v-${name}-${version}`,
    name,
    version,
    sha256: 'a'.repeat(64),
    storageKey: 'key',
    sizeBytes: 1,
    inputs: [],
    outputs: [],
    cache: { enabled: true, ttlSeconds: 60 },
    batching: { enabled: false, maxBatchSize: 8, maxQueueDelayMs: 0, preferredBatchSizes: [] },
    logPayloads: false,
    traffic: null,
  };
}

function changed(model: string, servingChanged: boolean): ModelChangedEvent {
  return { model, kind: servingChanged ? 'updated' : 'created', servingChanged, released: [] };
}

describe('ServableVersionCache', () => {
  it('keeps an entry per model, version (or latest) and generation for RESOLVE_CACHE_MS', () => {
    let now = 1_000;
    const cache = new ServableVersionCache({ now: () => now });
    cache.set('iris', undefined, 'e1', servable('iris', 2));
    cache.set('iris', 1, 'e1', servable('iris', 1));
    assert.equal(cache.get('iris', undefined, 'e1')?.version, 2);
    assert.equal(cache.get('iris', 1, 'e1')?.version, 1);
    assert.equal(cache.get('iris', undefined, 'e2'), undefined);
    now += RESOLVE_CACHE_MS;
    assert.equal(cache.get('iris', 1, 'e1')?.version, 1, 'still fresh at the bound');
    now += 1;
    assert.equal(cache.get('iris', 1, 'e1'), undefined);
  });

  it('holds at most RESOLVE_CACHE_MAX_ENTRIES, dropping the least recently used first', () => {
    const cache = new ServableVersionCache({ now: () => 0 });
    cache.set('first', undefined, 'e', servable('first'));
    cache.set('second', undefined, 'e', servable('second'));
    for (let i = 0; i < RESOLVE_CACHE_MAX_ENTRIES - 2; i++) cache.set('bulk', i, 'e', servable('bulk', i));
    assert.ok(cache.get('first', undefined, 'e'), 'used last, so second is now the oldest');
    cache.set('one-more', undefined, 'e', servable('one-more'));
    assert.equal(cache.size, RESOLVE_CACHE_MAX_ENTRIES);
    assert.equal(cache.get('second', undefined, 'e'), undefined);
    assert.ok(cache.get('first', undefined, 'e'));
  });

  it("forgets a model's entries on a serving change, and only that model's", () => {
    const cache = new ServableVersionCache({ now: () => 0 });
    cache.set('iris', undefined, 'e1', servable('iris'));
    cache.set('iris', 3, 'e2', servable('iris', 3));
    cache.set('iris2', undefined, 'e1', servable('iris2'));
    cache.onModelChanged(changed('iris', false));
    assert.ok(cache.get('iris', undefined, 'e1'), 'a change predictions do not read keeps them');
    cache.onModelChanged(changed('iris', true));
    assert.equal(cache.get('iris', undefined, 'e1'), undefined);
    assert.equal(cache.get('iris', 3, 'e2'), undefined);
    assert.ok(cache.get('iris2', undefined, 'e1'));
  });

  it('forgets a change heard from another replica like its own, and everything on a resync', () => {
    const cache = new ServableVersionCache({ now: () => 0 });
    cache.set('iris', undefined, 'e1', servable('iris'));
    cache.set('iris2', undefined, 'e1', servable('iris2'));
    cache.set('iris3', 2, 'e1', servable('iris3', 2));
    cache.onModelChanged({ ...changed('iris', true), fromReplica: true });
    assert.equal(cache.get('iris', undefined, 'e1'), undefined);
    assert.ok(cache.get('iris2', undefined, 'e1'));
    cache.clear();
    assert.equal(cache.size, 0);
  });
});

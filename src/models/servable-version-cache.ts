import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { LRUCache } from 'lru-cache';
import { Clock } from '../common/clock';
import { MODEL_CHANGED, MODELS_RESYNC, ModelChangedEvent } from './model-events';
import type { ServableVersion } from './servable-version';
import type { VersionRef } from './version-ref';

/** An upper bound only: entries are keyed by the model's cache generation, which writes replace. */
export const RESOLVE_CACHE_MS = 5_000;

/** Entries kept at most; the least recently used one goes first. */
export const RESOLVE_CACHE_MAX_ENTRIES = 10_000;

/**
 * Short-lived memory of which version a prediction for (model, version or latest) runs on, so the
 * hot path does not query the database on every request. A change of the model (`model.changed`,
 * made here or heard from another replica over Redis) forgets its entries; its new cache
 * generation also makes them unreachable, should a message be lost.
 */
@Injectable()
export class ServableVersionCache {
  private readonly entries: LRUCache<string, ServableVersion>;

  constructor(clock: Clock) {
    // ttlResolution 0: the clock is read at each lookup (no timer, and a test's clock is obeyed).
    this.entries = new LRUCache({
      max: RESOLVE_CACHE_MAX_ENTRIES,
      ttl: RESOLVE_CACHE_MS,
      ttlResolution: 0,
      perf: clock,
    });
  }

  get(name: string, version: VersionRef | undefined, epoch: string): ServableVersion | undefined {
    return this.entries.get(key(name, version, epoch));
  }

  set(name: string, version: VersionRef | undefined, epoch: string, value: ServableVersion): void {
    this.entries.set(key(name, version, epoch), value);
  }

  invalidate(name: string): void {
    const prefix = `${name}@`;
    for (const entry of [...this.entries.keys()]) if (entry.startsWith(prefix)) this.entries.delete(entry);
  }

  @OnEvent(MODEL_CHANGED)
  onModelChanged(event: ModelChangedEvent): void {
    if (event.servingChanged) this.invalidate(event.model);
  }

  /** Messages may have been missed while Redis was away: nothing remembered is trusted. */
  @OnEvent(MODELS_RESYNC)
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

function key(name: string, version: VersionRef | undefined, epoch: string): string {
  return `${name}@${version ?? 'latest'}#${epoch}`;
}

import { Injectable } from '@nestjs/common';
import type { ModelVersionEntity } from './entities/model-version.entity';
import type { ModelEntity } from './entities/model.entity';

export interface ServableVersion {
  model: ModelEntity;
  entity: ModelVersionEntity;
}

/** An upper bound only: entries are keyed by the model's cache generation, which writes replace. */
export const RESOLVE_CACHE_MS = 5_000;

/**
 * Short-lived memory of which version a prediction for (model, version or latest) runs on, so the
 * hot path does not query the database on every request. Writes in this process invalidate it.
 */
@Injectable()
export class ServableVersionCache {
  private readonly entries = new Map<string, { value: ServableVersion; expires: number }>();

  get(name: string, version: number | undefined, epoch: string): ServableVersion | undefined {
    const key = `${name}@${version ?? 'latest'}#${epoch}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(name: string, version: number | undefined, epoch: string, value: ServableVersion): void {
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(`${name}@${version ?? 'latest'}#${epoch}`, { value, expires: Date.now() + RESOLVE_CACHE_MS });
  }

  invalidate(name: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${name}@`)) this.entries.delete(key);
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { ArtifactStore } from '../storage/artifact-store';
import { ModelEvents } from './model-events';
import type { StoredArtifact } from './model-version.repository';

/**
 * What follows a committed delete of versions (one, or a model's): `model.changed`, on which the
 * caches forget them and the engine unloads the released artifacts, and then the removal of those
 * artifacts' bytes from the store.
 */
@Injectable()
export class VersionCleanupService {
  private readonly logger = new Logger(VersionCleanupService.name);

  constructor(
    private readonly events: ModelEvents,
    private readonly store: ArtifactStore,
  ) {}

  /** `released`: the artifacts no version uses any more. */
  async afterDelete(
    model: string,
    kind: 'version-deleted' | 'deleted',
    released: readonly StoredArtifact[],
  ): Promise<void> {
    await this.events.changed({ model, kind, servingChanged: true, released: released.map((a) => a.sha256) });
    for (const { storageKey: key } of released) {
      try {
        await this.store.remove(key);
      } catch (error) {
        this.logger.warn({ key, err: (error as Error).message }, 'Could not remove an unreferenced artifact');
      }
    }
  }
}

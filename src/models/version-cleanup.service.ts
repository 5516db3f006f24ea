import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { ArtifactStore } from '../storage/artifact-store';
import { ModelVersionEntity } from './entities/model-version.entity';

/** What happens after version rows are gone: unreferenced bytes are removed from the store. */
@Injectable()
export class VersionCleanupService {
  private readonly logger = new Logger(VersionCleanupService.name);

  constructor(
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
    private readonly store: ArtifactStore,
  ) {}

  async afterDelete(removed: ModelVersionEntity[]): Promise<void> {
    const keys = [...new Set(removed.map((v) => v.storageKey))];
    if (keys.length === 0) return;
    const stillUsed = await this.versions.find({ select: { storageKey: true }, where: { storageKey: In(keys) } });
    const used = new Set(stillUsed.map((v) => v.storageKey));
    for (const key of keys.filter((k) => !used.has(k))) {
      try {
        await this.store.remove(key);
      } catch (error) {
        this.logger.warn({ key, err: (error as Error).message }, 'Could not remove an unreferenced artifact');
      }
    }
  }
}

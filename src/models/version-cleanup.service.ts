import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { InferenceService } from '../inference/inference.service';
import { ArtifactStore } from '../storage/artifact-store';
import { ModelVersionEntity } from './entities/model-version.entity';

/**
 * What happens after version rows are gone: bytes no other version uses are removed from the store
 * and their sessions unloaded from the inference workers.
 */
@Injectable()
export class VersionCleanupService {
  private readonly logger = new Logger(VersionCleanupService.name);

  constructor(
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
    private readonly store: ArtifactStore,
    private readonly inference: InferenceService,
  ) {}

  async afterDelete(removed: ModelVersionEntity[]): Promise<void> {
    const keys = [...new Set(removed.map((v) => v.storageKey))];
    if (keys.length === 0) return;
    const stillUsed = await this.versions.find({ select: { storageKey: true }, where: { storageKey: In(keys) } });
    const used = new Set(stillUsed.map((v) => v.storageKey));
    const shaByKey = new Map(removed.map((v) => [v.storageKey, v.sha256]));
    for (const key of keys.filter((k) => !used.has(k))) {
      try {
        await this.inference.unload(shaByKey.get(key) as string);
        await this.store.remove(key);
      } catch (error) {
        this.logger.warn({ key, err: (error as Error).message }, 'Could not remove an unreferenced artifact');
      }
    }
  }
}

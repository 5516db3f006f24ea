import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InferenceService } from '../inference/inference.service';
import { ModelVersionRepository } from './model-version.repository';

/** With INFERENCE_LOAD=eager, loads the most recent ready versions (up to the LRU limit) at start. */
@Injectable()
export class ModelPreloader implements OnApplicationBootstrap {
  private readonly logger = new Logger(ModelPreloader.name);

  constructor(
    private readonly config: AppConfig,
    private readonly inference: InferenceService,
    private readonly versions: ModelVersionRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.inference.load !== 'eager') return;
    const ready = await this.versions.recentReady(this.config.inference.maxLoadedVersions);
    const seen = new Set<string>();
    for (const { id, sha256, storageKey, sizeBytes } of ready.reverse()) {
      if (seen.has(sha256)) continue;
      seen.add(sha256);
      try {
        await this.inference.load({ sha256, storageKey, sizeBytes });
      } catch (error) {
        this.logger.warn({ msg: 'could not preload a version', version: id, err: (error as Error).message });
      }
    }
    if (seen.size > 0) this.logger.log({ msg: 'preloaded model versions', count: seen.size });
  }
}

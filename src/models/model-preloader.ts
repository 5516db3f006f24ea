import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { InferenceService } from '../inference/inference.service';
import { ModelVersionEntity } from './entities/model-version.entity';

/** With INFERENCE_LOAD=eager, loads the most recent ready versions (up to the LRU limit) at start. */
@Injectable()
export class ModelPreloader implements OnApplicationBootstrap {
  private readonly logger = new Logger(ModelPreloader.name);

  constructor(
    private readonly config: AppConfig,
    private readonly inference: InferenceService,
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.inference.load !== 'eager') return;
    const ready = await this.versions.find({
      where: { status: 'ready' },
      order: { createdAt: 'DESC' },
      take: this.config.inference.maxLoadedVersions,
    });
    const seen = new Set<string>();
    for (const version of ready.reverse()) {
      if (seen.has(version.sha256)) continue;
      seen.add(version.sha256);
      try {
        await this.inference.load(version);
      } catch (error) {
        this.logger.warn({ msg: 'could not preload a version', version: version.id, err: (error as Error).message });
      }
    }
    if (seen.size > 0) this.logger.log({ msg: 'preloaded model versions', count: seen.size });
  }
}

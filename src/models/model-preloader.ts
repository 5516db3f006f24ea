import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { InferenceService } from '../inference/inference.service';
import { ArtifactStore } from '../storage/artifact-store';
import type { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEvents } from './model-events';
import { ModelVersionRepository } from './model-version.repository';

/**
 * With INFERENCE_LOAD=eager, loads the most recent ready versions (up to the LRU limit) at start.
 * A version whose load fails because its file is gone or its bytes no longer match its sha256 (a
 * corrupted store) is marked `failed` with the reason, never served again, and counted in the
 * readiness details; a load that fails with intact bytes is only logged (it may be transient).
 */
@Injectable()
export class ModelPreloader implements OnApplicationBootstrap {
  private readonly logger = new Logger(ModelPreloader.name);
  private failedAtStart = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly inference: InferenceService,
    private readonly versions: ModelVersionRepository,
    private readonly store: ArtifactStore,
    private readonly events: ModelEvents,
  ) {}

  /** Versions this process found failed at start. */
  get failedVersions(): number {
    return this.failedAtStart;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.inference.load !== 'eager') return;
    const ready = await this.versions.recentReady(this.config.inference.maxLoadedVersions);
    const seen = new Set<string>();
    for (const version of ready.reverse()) {
      const { id, sha256, storageKey, sizeBytes } = version;
      if (seen.has(sha256)) continue;
      seen.add(sha256);
      try {
        await this.inference.load({ sha256, storageKey, sizeBytes });
      } catch (error) {
        this.logger.warn({ msg: 'could not preload a version', version: id, err: (error as Error).message });
        await this.checkArtifact(version);
      }
    }
    if (seen.size > 0) this.logger.log({ msg: 'preloaded model versions', count: seen.size });
  }

  /** Marks the versions of a damaged artifact failed; leaves them when its bytes are intact. */
  private async checkArtifact(version: ModelVersionEntity): Promise<void> {
    try {
      const problem = await this.artifactProblem(version);
      if (problem === undefined) return;
      const failed = await this.versions.markFailed(version.sha256, `${problem}; upload the model again`);
      this.failedAtStart += failed.length;
      for (const { model, version: number } of failed) {
        this.logger.error({ msg: 'version failed its check at start', model, version: number, reason: problem });
      }
      for (const model of new Set(failed.map((f) => f.model))) {
        await this.events.changed({ model, kind: 'version-updated', servingChanged: true, released: [] });
      }
    } catch (error) {
      this.logger.warn({ msg: 'could not check a version file', version: version.id, err: (error as Error).message });
    }
  }

  /** What is wrong with the version's stored bytes, or undefined when they are what was uploaded. */
  private async artifactProblem({ storageKey, sha256 }: ModelVersionEntity): Promise<string | undefined> {
    if (!(await this.store.exists(storageKey))) return 'its file is missing from the artifact store';
    const hash = createHash('sha256');
    for await (const chunk of await this.store.openRead(storageKey)) hash.update(chunk as Buffer);
    const actual = hash.digest('hex');
    return actual === sha256 ? undefined : `its file no longer matches its sha256 (the store holds ${actual})`;
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../auth/audit/audit.service';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { PredictionCacheService } from '../cache/prediction-cache.service';
import { ModelNotFoundError, TooManyRequestsError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { InferenceService } from '../inference/inference.service';
import type { ModelInspection } from '../inference/worker/protocol';
import { ArtifactStore, StagedArtifact } from '../storage/artifact-store';
import { ensureFreeDisk } from '../storage/free-disk';
import { ModelVersionDto } from './dto/model-version.dto';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { toVersionDto } from './model.mapper';
import { ModelsService } from './models.service';
import { REGISTRY_ACTIONS, versionTarget } from './registry-audit';
import { ServableVersionCache } from './servable-version-cache';
import { receiveModelUpload, UploadRequest } from './upload/multipart-upload';
import { VersionCleanupService } from './version-cleanup.service';

/** Seconds a client refused for MAX_CONCURRENT_UPLOADS is asked to wait. */
const UPLOAD_RETRY_AFTER_SECONDS = 5;

/** The body size the client announced (Content-Length), or 0 when it did not say. */
function announcedBytes(request: UploadRequest): number {
  const length = request.headers['content-length'];
  return length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : 0;
}

/**
 * Upload of a new version: stream to staging, inspect and warm up in an inference worker, then
 * commit file, row and audit event together. Any failure leaves no row, no file, no staging file
 * and no audit event. A credential scoped to other models is refused before the body is read. At most
 * MAX_CONCURRENT_UPLOADS run at once in this process, and an upload that would leave less than
 * MIN_FREE_DISK_BYTES free is refused; both before the body is read.
 */
@Injectable()
export class ModelUploadService {
  private readonly logger = new Logger(ModelUploadService.name);
  private active = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    private readonly models: ModelsService,
    private readonly store: ArtifactStore,
    private readonly inference: InferenceService,
    private readonly cleanup: VersionCleanupService,
    private readonly servable: ServableVersionCache,
    private readonly cache: PredictionCacheService,
  ) {}

  async upload(name: string, request: UploadRequest, caller: Caller): Promise<ModelVersionDto> {
    assertModelInScope(caller, name);
    if (this.active >= this.config.models.maxConcurrentUploads) {
      throw new TooManyRequestsError(
        `${this.active} model uploads are already in progress (MAX_CONCURRENT_UPLOADS); retry shortly`,
        UPLOAD_RETRY_AFTER_SECONDS,
      );
    }
    this.active++;
    try {
      await ensureFreeDisk(this.config.storage.dataDir, announcedBytes(request), this.config.storage.minFreeDiskBytes);
      return await this.receiveAndStore(name, request, caller);
    } finally {
      this.active--;
    }
  }

  private async receiveAndStore(name: string, request: UploadRequest, caller: Caller): Promise<ModelVersionDto> {
    const model = await this.models.findEntity(name);
    const { staged, description } = await receiveModelUpload(request, this.store, this.config.models.maxModelBytes);
    let storageKey: string | undefined;
    try {
      const inspection = await this.inference.inspect(staged);
      storageKey = await this.store.commit(staged);
      const entity = await this.insertVersion(model, staged, storageKey, description, inspection, caller);
      this.servable.invalidate(name);
      await this.cache.invalidate(name);
      this.logger.log({ msg: 'model version stored', model: name, version: entity.version, sha256: staged.sha256 });
      const servable = { sha256: entity.sha256, storageKey, sizeBytes: entity.sizeBytes };
      this.inference.load(servable).catch((error: Error) =>
        this.logger.warn({
          msg: 'loading the new version into every worker failed',
          model: name,
          err: error.message,
        }),
      );
      return toVersionDto(model.name, entity);
    } catch (error) {
      await this.store.discard(staged);
      await this.releaseUncommitted(staged, storageKey);
      throw error;
    }
  }

  private async insertVersion(
    model: ModelEntity,
    staged: StagedArtifact,
    storageKey: string,
    description: string,
    inspection: ModelInspection,
    caller: Caller,
  ): Promise<ModelVersionEntity> {
    return this.dataSource.transaction(async (manager) => {
      // The increment locks the model row, so concurrent uploads get distinct numbers.
      const updated = await manager.increment(ModelEntity, { id: model.id }, 'versionCounter', 1);
      if (!updated.affected) throw new ModelNotFoundError(model.name);
      const { versionCounter: version } = await manager.findOneByOrFail(ModelEntity, { id: model.id });
      const entity = await manager.save(
        manager.create(ModelVersionEntity, {
          modelId: model.id,
          version,
          status: 'ready',
          description,
          sha256: staged.sha256,
          storageKey,
          sizeBytes: staged.sizeBytes,
          irVersion: inspection.irVersion,
          opsetVersion: inspection.opsetVersion,
          producerName: inspection.producerName.slice(0, 255),
          producerVersion: inspection.producerVersion.slice(0, 255),
          inputs: inspection.inputs,
          outputs: inspection.outputs,
        }),
      );
      await manager.update(ModelEntity, { id: model.id }, { latestVersion: version });
      await this.audit.record(manager, caller, {
        action: REGISTRY_ACTIONS.versionCreate,
        target: versionTarget(model.name, version),
        details: { sha256: staged.sha256, sizeBytes: staged.sizeBytes },
      });
      return entity;
    });
  }

  /** After a failed upload: bytes no committed version uses leave the store and the workers. */
  private async releaseUncommitted(staged: StagedArtifact, storageKey: string | undefined): Promise<void> {
    try {
      const stillUsed = await this.dataSource.getRepository(ModelVersionEntity).existsBy({ sha256: staged.sha256 });
      if (stillUsed) return;
      if (storageKey) await this.store.remove(storageKey);
      await this.inference.unload(staged.sha256);
    } catch (error) {
      this.logger.warn({ msg: 'cleanup after a failed upload failed', err: (error as Error).message });
    }
  }
}

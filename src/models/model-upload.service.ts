import { Injectable, Logger } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { TooManyRequestsError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { InferenceService, ModelInspection } from '../inference/inference.service';
import { ArtifactStore, StagedArtifact } from '../storage/artifact-store';
import { ensureFreeDisk } from '../storage/free-disk';
import { ModelVersionDto } from './dto/model-version.dto';
import type { ModelVersionEntity } from './entities/model-version.entity';
import type { ModelEntity } from './entities/model.entity';
import { ModelEvents } from './model-events';
import { ModelVersionRepository, NewVersion } from './model-version.repository';
import { ModelRepository } from './model.repository';
import { toVersionDto } from './model.mapper';
import { REGISTRY_ACTIONS, versionTarget } from './registry-audit';
import { receiveModelUpload, UploadRequest } from './upload/multipart-upload';

/** Seconds a client refused for MAX_CONCURRENT_UPLOADS is asked to wait. */
const UPLOAD_RETRY_AFTER_SECONDS = 5;

/** The body size the client announced (Content-Length), or 0 when it did not say. */
function announcedBytes(request: UploadRequest): number {
  const length = request.headers['content-length'];
  return length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : 0;
}

/**
 * Upload of a new version: stream to staging, inspect and warm up in an inference worker, then
 * commit file, row and audit event together, and publish `model.changed`. Any failure leaves no
 * row, no file, no staging file and no audit event. A credential scoped to other models is
 * refused before the body is read. At most MAX_CONCURRENT_UPLOADS run at once in this process,
 * and an upload that would leave less than MIN_FREE_DISK_BYTES free is refused; both before the
 * body is read.
 */
@Injectable()
export class ModelUploadService {
  private readonly logger = new Logger(ModelUploadService.name);
  private active = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly models: ModelRepository,
    private readonly versions: ModelVersionRepository,
    private readonly events: ModelEvents,
    private readonly store: ArtifactStore,
    private readonly inference: InferenceService,
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
    const model = await this.models.getByName(name);
    const { staged, description } = await receiveModelUpload(request, this.store, this.config.models.maxModelBytes);
    let storageKey: string | undefined;
    try {
      const inspection = await this.inference.inspect(staged);
      storageKey = await this.store.commit(staged);
      const entity = await this.insertVersion(model, staged, storageKey, description, inspection, caller);
      await this.events.changed({ model: name, kind: 'version-added', servingChanged: true, released: [] });
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

  private insertVersion(
    model: ModelEntity,
    staged: StagedArtifact,
    storageKey: string,
    description: string,
    inspection: ModelInspection,
    caller: Caller,
  ): Promise<ModelVersionEntity> {
    const fields: NewVersion = {
      status: 'ready',
      failureReason: null,
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
      metadata: {},
    };
    return this.versions.insert(model, fields, (version) => ({
      caller,
      entry: {
        action: REGISTRY_ACTIONS.versionCreate,
        target: versionTarget(model.name, version),
        details: { sha256: staged.sha256, sizeBytes: staged.sizeBytes },
      },
    }));
  }

  /** After a failed upload: bytes no committed version uses leave the store and the workers. */
  private async releaseUncommitted(staged: StagedArtifact, storageKey: string | undefined): Promise<void> {
    try {
      if (await this.versions.isUsed(staged.sha256)) return;
      if (storageKey) await this.store.remove(storageKey);
      await this.inference.unload(staged.sha256);
    } catch (error) {
      this.logger.warn({ msg: 'cleanup after a failed upload failed', err: (error as Error).message });
    }
  }
}

import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { ConflictError, VersionNotFoundError } from '../common/errors';
import { Page, PageQueryDto, pageOf } from '../common/pagination';
import { ArtifactStore } from '../storage/artifact-store';
import { ModelVersionDto, UpdateVersionDto } from './dto/model-version.dto';
import type { ModelVersionEntity } from './entities/model-version.entity';
import type { ModelEntity } from './entities/model.entity';
import { ModelEvents } from './model-events';
import { ModelVersionRepository } from './model-version.repository';
import { ModelRepository } from './model.repository';
import { toVersionDto } from './model.mapper';
import { REGISTRY_ACTIONS, versionTarget, versionUpdateDetails } from './registry-audit';
import { VersionCleanupService } from './version-cleanup.service';

/**
 * Reading, changing and deleting versions. Every route checks the caller's model scope first; a
 * write and its audit event commit together, and then `model.changed` is published.
 */
@Injectable()
export class ModelVersionsService {
  constructor(
    private readonly models: ModelRepository,
    private readonly versions: ModelVersionRepository,
    private readonly cleanup: VersionCleanupService,
    private readonly store: ArtifactStore,
    private readonly events: ModelEvents,
  ) {}

  async list(name: string, query: PageQueryDto, caller: Caller): Promise<Page<ModelVersionDto>> {
    assertModelInScope(caller, name);
    const model = await this.models.getByName(name);
    const [rows, total] = await this.versions.page(model.id, query.skip, query.limit);
    return pageOf(
      rows.map((row) => toVersionDto(model.name, row)),
      total,
      query,
    );
  }

  async get(name: string, version: number, caller: Caller): Promise<ModelVersionDto> {
    assertModelInScope(caller, name);
    const { model, entity } = await this.find(name, version);
    return toVersionDto(model.name, entity);
  }

  async openFile(name: string, version: number, caller: Caller): Promise<{ stream: Readable; sizeBytes: number }> {
    assertModelInScope(caller, name);
    const { entity } = await this.find(name, version);
    return { stream: await this.store.openRead(entity.storageKey), sizeBytes: entity.sizeBytes };
  }

  /**
   * Changes description, status or metadata. A status change is a serving change: the latest ready
   * version is recomputed with it, and every replica resolves afresh before the response.
   */
  async update(name: string, version: number, dto: UpdateVersionDto, caller: Caller): Promise<ModelVersionDto> {
    assertModelInScope(caller, name);
    const { model, entity } = await this.find(name, version);
    if (dto.status !== undefined && entity.status === 'failed') {
      throw new ConflictError(`Version ${version} of '${name}' failed to load; upload it again instead`);
    }
    const servingChanged = dto.status !== undefined && dto.status !== entity.status;
    if (dto.description !== undefined) entity.description = dto.description;
    if (dto.status !== undefined) entity.status = dto.status;
    if (dto.metadata !== undefined) entity.metadata = dto.metadata;
    const saved = await this.versions.update(entity, {
      caller,
      entry: {
        action: REGISTRY_ACTIONS.versionUpdate,
        target: versionTarget(name, version),
        details: versionUpdateDetails(dto),
      },
    });
    await this.events.changed({ model: name, kind: 'version-updated', servingChanged, released: [] });
    return toVersionDto(model.name, saved);
  }

  /** Deletes the version, and the bytes it leaves unused from the store (the engine unloads them). */
  async delete(name: string, version: number, caller: Caller): Promise<void> {
    assertModelInScope(caller, name);
    const { entity } = await this.find(name, version);
    const released = await this.versions.delete(entity, {
      caller,
      entry: {
        action: REGISTRY_ACTIONS.versionDelete,
        target: versionTarget(name, version),
        details: { sha256: entity.sha256 },
      },
    });
    await this.cleanup.afterDelete(name, 'version-deleted', released);
  }

  /** The model and version rows, or a not-found error naming which is missing. */
  private async find(name: string, version: number): Promise<{ model: ModelEntity; entity: ModelVersionEntity }> {
    const model = await this.models.getByName(name);
    const entity = await this.versions.find(model.id, version);
    if (!entity) throw new VersionNotFoundError(name, version);
    return { model, entity };
  }
}

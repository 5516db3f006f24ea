import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import type { Readable } from 'node:stream';
import { AuditService } from '../auth/audit/audit.service';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { PredictionCacheService } from '../cache/prediction-cache.service';
import { ConflictError, NotFoundError, VersionNotFoundError } from '../common/errors';
import { Page, PageQueryDto, pageOf } from '../common/pagination';
import { ArtifactStore } from '../storage/artifact-store';
import { ModelVersionDto } from './dto/model-version.dto';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { toVersionDto } from './model.mapper';
import { ModelsService } from './models.service';
import { REGISTRY_ACTIONS, versionTarget } from './registry-audit';
import { ServableVersion, ServableVersionCache } from './servable-version-cache';
import { VersionCleanupService } from './version-cleanup.service';

/**
 * Reading and deleting versions, and resolving the version a prediction or job runs on. Routes
 * that name a model check the caller's model scope first; a delete and its audit event commit
 * together.
 */
@Injectable()
export class ModelVersionsService {
  constructor(
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly models: ModelsService,
    private readonly cleanup: VersionCleanupService,
    private readonly store: ArtifactStore,
    private readonly servable: ServableVersionCache,
    private readonly cache: PredictionCacheService,
  ) {}

  async list(name: string, query: PageQueryDto, caller: Caller): Promise<Page<ModelVersionDto>> {
    assertModelInScope(caller, name);
    const model = await this.models.findEntity(name);
    const [rows, total] = await this.versions.findAndCount({
      where: { modelId: model.id },
      order: { version: 'DESC' },
      skip: query.skip,
      take: query.limit,
    });
    return pageOf(
      rows.map((row) => toVersionDto(model.name, row)),
      total,
      query,
    );
  }

  async get(name: string, version: number, caller: Caller): Promise<ModelVersionDto> {
    assertModelInScope(caller, name);
    const { model, entity } = await this.findEntity(name, version);
    return toVersionDto(model.name, entity);
  }

  /** The model and version rows, or a not-found error naming which is missing. */
  async findEntity(name: string, version: number): Promise<{ model: ModelEntity; entity: ModelVersionEntity }> {
    const model = await this.models.findEntity(name);
    const entity = await this.versions.findOneBy({ modelId: model.id, version });
    if (!entity) throw new VersionNotFoundError(name, version);
    return { model, entity };
  }

  async openFile(name: string, version: number, caller: Caller): Promise<{ stream: Readable; sizeBytes: number }> {
    assertModelInScope(caller, name);
    const { entity } = await this.findEntity(name, version);
    return { stream: this.store.openRead(entity.storageKey), sizeBytes: entity.sizeBytes };
  }

  /**
   * The version a prediction or job runs on: the given number, or the newest ready version.
   * 404 when there is none, 409 when it exists but is not ready. Callers check the model scope
   * before (predictions and jobs learn the model name from the body).
   */
  async resolveServable(name: string, version?: number, epoch?: string): Promise<ServableVersion> {
    // Remembered per cache generation: a write on any replica starts a new one, so nothing
    // resolved before it is used after it. Without a generation (store down), ask the database.
    if (epoch === undefined) return this.resolveFromDatabase(name, version);
    const cached = this.servable.get(name, version, epoch);
    if (cached) return cached;
    const resolved = await this.resolveFromDatabase(name, version);
    this.servable.set(name, version, epoch, resolved);
    return resolved;
  }

  private async resolveFromDatabase(name: string, version?: number): Promise<ServableVersion> {
    if (version !== undefined) {
      const found = await this.findEntity(name, version);
      if (found.entity.status !== 'ready') {
        throw new ConflictError(`Version ${version} of '${name}' is ${found.entity.status}, not ready`);
      }
      return found;
    }
    const model = await this.models.findEntity(name);
    if (model.latestVersion === null) throw new NotFoundError(`Model '${name}' has no ready version yet; upload one`);
    return this.resolveFromDatabase(name, model.latestVersion);
  }

  async delete(name: string, version: number, caller: Caller): Promise<void> {
    assertModelInScope(caller, name);
    const { model, entity } = await this.findEntity(name, version);
    await this.dataSource.transaction(async (manager) => {
      await manager.delete(ModelVersionEntity, { id: entity.id });
      await this.audit.record(manager, caller, {
        action: REGISTRY_ACTIONS.versionDelete,
        target: versionTarget(name, version),
        details: { sha256: entity.sha256 },
      });
      const row = await manager
        .createQueryBuilder(ModelVersionEntity, 'v')
        .select('MAX(v.version)', 'latest')
        .where('v.modelId = :modelId AND v.status = :status', { modelId: model.id, status: 'ready' })
        .getRawOne<{ latest: number | string | null }>();
      const latest = row?.latest == null ? null : Number(row.latest);
      await manager.update(ModelEntity, { id: model.id }, { latestVersion: latest });
    });
    this.servable.invalidate(name);
    await this.cache.invalidate(name);
    await this.cleanup.afterDelete([entity]);
  }
}

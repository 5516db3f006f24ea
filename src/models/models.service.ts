import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { AuditService } from '../auth/audit/audit.service';
import type { Caller } from '../auth/caller';
import { modelPatternsWhere } from '../auth/model-patterns';
import { assertModelInScope } from '../auth/model-scope';
import { PredictionCacheService } from '../cache/prediction-cache.service';
import { AppConfig } from '../config/app-config';
import { ConflictError, ModelNotFoundError } from '../common/errors';
import { Page, pageOf } from '../common/pagination';
import { escapeLike, isUniqueViolation } from '../database/errors';
import { assertVersionsBatch, BatchingSettings, mergeBatching } from './batching-settings';
import { BatchingSettingsDto, CreateModelDto, ListModelsQueryDto, ModelDto, UpdateModelDto } from './dto/model.dto';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { effectiveBatching, toModelDto } from './model.mapper';
import { modelCreateDetails, modelTarget, modelUpdateDetails, REGISTRY_ACTIONS as ACTIONS } from './registry-audit';
import { ServableVersionCache } from './servable-version-cache';
import { VersionCleanupService } from './version-cleanup.service';

/**
 * The model registry. Every write and its audit event commit in one transaction; a credential
 * scoped to model patterns gets 403 on any other model before it is looked up, and lists are
 * filtered in SQL so totals and paging stay right.
 */
@Injectable()
export class ModelsService {
  constructor(
    @InjectRepository(ModelEntity) private readonly models: Repository<ModelEntity>,
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly cleanup: VersionCleanupService,
    private readonly servable: ServableVersionCache,
    private readonly cache: PredictionCacheService,
    private readonly config: AppConfig,
  ) {}

  async create(dto: CreateModelDto, caller: Caller): Promise<ModelDto> {
    assertModelInScope(caller, dto.name);
    if (await this.models.existsBy({ name: dto.name })) throw this.duplicate(dto.name);
    const entity = this.models.create({
      name: dto.name,
      description: dto.description ?? '',
      tags: dto.tags ?? [],
      aliases: {},
      versionCounter: 0,
      latestVersion: null,
      cacheEnabled: dto.cache?.enabled ?? null,
      cacheTtlSeconds: dto.cache?.ttlSeconds ?? null,
      logPayloads: dto.logPayloads ?? false,
      batchingEnabled: false,
      batchingMaxBatchSize: null,
      batchingMaxQueueDelayMs: null,
      batchingPreferredBatchSizes: null,
    });
    // A new model has no versions yet, so any valid batching settings apply.
    const batching = dto.batching && this.applyBatching(entity, dto.batching);
    try {
      const saved = await this.dataSource.transaction(async (manager) => {
        const row = await manager.save(entity);
        await this.audit.record(manager, caller, {
          action: ACTIONS.modelCreate,
          target: modelTarget(dto.name),
          details: modelCreateDetails(dto, batching),
        });
        return row;
      });
      return this.toDto(saved);
    } catch (error) {
      if (isUniqueViolation(error)) throw this.duplicate(dto.name);
      throw error;
    }
  }

  async list(query: ListModelsQueryDto, caller: Caller): Promise<Page<ModelDto>> {
    const qb = this.models.createQueryBuilder('m');
    const scope = modelPatternsWhere('m.name', caller.principal.models);
    if (scope) qb.andWhere(scope.sql, scope.parameters);
    if (query.q) {
      const pattern = `%${escapeLike(query.q.toLowerCase())}%`;
      qb.andWhere("(LOWER(m.name) LIKE :q ESCAPE '\\' OR LOWER(m.description) LIKE :q ESCAPE '\\')", { q: pattern });
    }
    if (query.tag) {
      qb.andWhere("m.tags LIKE :tag ESCAPE '\\'", { tag: `%${escapeLike(JSON.stringify(query.tag))}%` });
    }
    const [rows, total] = await qb.orderBy('m.name', 'ASC').skip(query.skip).take(query.limit).getManyAndCount();
    return pageOf(
      rows.map((row) => this.toDto(row)),
      total,
      query,
    );
  }

  async get(name: string, caller: Caller): Promise<ModelDto> {
    assertModelInScope(caller, name);
    return this.toDto(await this.findEntity(name));
  }

  /** The model row, or ModelNotFoundError. For the other registry services (no scope check). */
  async findEntity(name: string): Promise<ModelEntity> {
    const model = await this.models.findOneBy({ name });
    if (!model) throw new ModelNotFoundError(name);
    return model;
  }

  async update(name: string, dto: UpdateModelDto, caller: Caller): Promise<ModelDto> {
    assertModelInScope(caller, name);
    const model = await this.findEntity(name);
    // Checked before anything changes: a refused batching change leaves the whole PATCH undone.
    if (dto.batching?.enabled === true) assertVersionsBatch(name, await this.versionSignatures(model.id));
    const batching = dto.batching && this.applyBatching(model, dto.batching);
    if (dto.description !== undefined) model.description = dto.description;
    if (dto.tags !== undefined) model.tags = dto.tags;
    if (dto.logPayloads !== undefined) model.logPayloads = dto.logPayloads;
    // Settings the prediction path reads: every replica must see them on its next request.
    const servingChanged = dto.cache !== undefined || dto.logPayloads !== undefined || dto.batching !== undefined;
    if (dto.cache?.enabled !== undefined) model.cacheEnabled = dto.cache.enabled;
    if (dto.cache?.ttlSeconds !== undefined) model.cacheTtlSeconds = dto.cache.ttlSeconds;
    const saved = await this.dataSource.transaction(async (manager) => {
      const row = await manager.save(model);
      await this.audit.record(manager, caller, {
        action: ACTIONS.modelUpdate,
        target: modelTarget(name),
        details: modelUpdateDetails(dto, batching),
      });
      return row;
    });
    if (servingChanged) {
      this.servable.invalidate(name);
      await this.cache.invalidate(name);
    }
    return this.toDto(saved);
  }

  /** Removes the model, its versions (cascade) and every artifact no other version shares. */
  async delete(name: string, caller: Caller): Promise<void> {
    assertModelInScope(caller, name);
    const model = await this.findEntity(name);
    const versions = await this.versions.findBy({ modelId: model.id });
    await this.dataSource.transaction(async (manager) => {
      await manager.delete(ModelEntity, { id: model.id });
      await this.audit.record(manager, caller, {
        action: ACTIONS.modelDelete,
        target: modelTarget(name),
        details: { versions: versions.map((v) => v.version) },
      });
    });
    this.servable.invalidate(name);
    await this.cache.forget(name);
    await this.cleanup.afterDelete(versions);
  }

  /**
   * Empties the model's prediction cache (its entries become unreachable on every replica). The
   * audit event is inserted first and its transaction commits only once the cache was told, so
   * an event that cannot be recorded leaves the cache as it was.
   */
  async flushCache(name: string, caller: Caller): Promise<void> {
    assertModelInScope(caller, name);
    await this.findEntity(name);
    await this.dataSource.transaction(async (manager) => {
      await this.audit.record(manager, caller, { action: ACTIONS.modelCacheClear, target: modelTarget(name) });
      await this.cache.invalidate(name);
    });
  }

  /**
   * Merges a batching change into the model's settings (InvalidInputError when the result is not
   * consistent) and writes them whole onto the entity, unsaved.
   */
  private applyBatching(model: ModelEntity, change: BatchingSettingsDto): BatchingSettings {
    const batching = mergeBatching(effectiveBatching(model), change);
    model.batchingEnabled = batching.enabled;
    model.batchingMaxBatchSize = batching.maxBatchSize;
    model.batchingMaxQueueDelayMs = batching.maxQueueDelayMs;
    model.batchingPreferredBatchSizes = batching.preferredBatchSizes;
    return batching;
  }

  /** The signatures of the model's versions, for the batching check. */
  private versionSignatures(
    modelId: string,
  ): Promise<Pick<ModelVersionEntity, 'version' | 'status' | 'inputs' | 'outputs'>[]> {
    return this.versions.find({
      where: { modelId },
      select: { version: true, status: true, inputs: true, outputs: true },
    });
  }

  private toDto(entity: ModelEntity): ModelDto {
    return toModelDto(entity, this.config.cache.defaults);
  }

  private duplicate(name: string): ConflictError {
    return new ConflictError(`A model named '${name}' already exists; choose another name or add a version to it`);
  }
}

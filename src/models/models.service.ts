import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { AppConfig } from '../config/app-config';
import { ConflictError } from '../common/errors';
import { Page, pageOf } from '../common/pagination';
import { assertVersionsBatch, BatchingSettings, mergeBatching } from './batching-settings';
import { BatchingSettingsDto, CreateModelDto, ListModelsQueryDto, ModelDto, UpdateModelDto } from './dto/model.dto';
import type { ModelEntity } from './entities/model.entity';
import { ModelEvents } from './model-events';
import { ModelVersionRepository } from './model-version.repository';
import { ModelRepository, NewModel } from './model.repository';
import { effectiveBatching, toModelDto } from './model.mapper';
import { modelCreateDetails, modelTarget, modelUpdateDetails, REGISTRY_ACTIONS as ACTIONS } from './registry-audit';
import { VersionCleanupService } from './version-cleanup.service';

/**
 * The model registry. Every write and its audit event commit in one transaction, and then
 * `model.changed` is published; a credential scoped to model patterns gets 403 on any other model
 * before it is looked up, and lists are filtered in SQL so totals and paging stay right.
 */
@Injectable()
export class ModelsService {
  constructor(
    private readonly models: ModelRepository,
    private readonly versions: ModelVersionRepository,
    private readonly events: ModelEvents,
    private readonly cleanup: VersionCleanupService,
    private readonly config: AppConfig,
  ) {}

  async create(dto: CreateModelDto, caller: Caller): Promise<ModelDto> {
    assertModelInScope(caller, dto.name);
    if (await this.models.exists(dto.name)) throw this.duplicate(dto.name);
    const fields: NewModel = {
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
      traffic: null,
    };
    // A new model has no versions yet, so any valid batching settings apply.
    const batching = dto.batching && this.applyBatching(fields, dto.batching);
    const saved = await this.models.insert(fields, {
      caller,
      entry: { action: ACTIONS.modelCreate, target: modelTarget(dto.name), details: modelCreateDetails(dto, batching) },
    });
    if (!saved) throw this.duplicate(dto.name);
    await this.events.changed({ model: dto.name, kind: 'created', servingChanged: false, released: [] });
    return this.toDto(saved);
  }

  async list(query: ListModelsQueryDto, caller: Caller): Promise<Page<ModelDto>> {
    const [rows, total] = await this.models.page({
      patterns: caller.principal.models,
      q: query.q,
      tag: query.tag,
      skip: query.skip,
      limit: query.limit,
    });
    return pageOf(
      rows.map((row) => this.toDto(row)),
      total,
      query,
    );
  }

  async get(name: string, caller: Caller): Promise<ModelDto> {
    assertModelInScope(caller, name);
    return this.toDto(await this.models.getByName(name));
  }

  async update(name: string, dto: UpdateModelDto, caller: Caller): Promise<ModelDto> {
    assertModelInScope(caller, name);
    const model = await this.models.getByName(name);
    // Checked before anything changes: a refused batching change leaves the whole PATCH undone.
    if (dto.batching?.enabled === true) assertVersionsBatch(name, await this.versions.forModel(model.id));
    const batching = dto.batching && this.applyBatching(model, dto.batching);
    if (dto.description !== undefined) model.description = dto.description;
    if (dto.tags !== undefined) model.tags = dto.tags;
    if (dto.logPayloads !== undefined) model.logPayloads = dto.logPayloads;
    if (dto.cache?.enabled !== undefined) model.cacheEnabled = dto.cache.enabled;
    if (dto.cache?.ttlSeconds !== undefined) model.cacheTtlSeconds = dto.cache.ttlSeconds;
    const saved = await this.models.save(model, {
      caller,
      entry: { action: ACTIONS.modelUpdate, target: modelTarget(name), details: modelUpdateDetails(dto, batching) },
    });
    // Settings the prediction path reads: every replica must see them on its next request.
    const servingChanged = dto.cache !== undefined || dto.logPayloads !== undefined || dto.batching !== undefined;
    await this.events.changed({ model: name, kind: 'updated', servingChanged, released: [] });
    return this.toDto(saved);
  }

  /** Removes the model, its versions (cascade) and every artifact no other version shares. */
  async delete(name: string, caller: Caller): Promise<void> {
    assertModelInScope(caller, name);
    const model = await this.models.getByName(name);
    const versions = await this.versions.forModel(model.id);
    const released = await this.models.delete(model, versions, {
      caller,
      entry: {
        action: ACTIONS.modelDelete,
        target: modelTarget(name),
        details: { versions: versions.map((v) => v.version) },
      },
    });
    await this.cleanup.afterDelete(name, 'deleted', released);
  }

  /**
   * Empties the model's prediction cache (its entries become unreachable on every replica). The
   * audit event commits first, so an event that cannot be recorded leaves the cache as it was.
   */
  async flushCache(name: string, caller: Caller): Promise<void> {
    assertModelInScope(caller, name);
    await this.models.getByName(name);
    await this.models.record({ caller, entry: { action: ACTIONS.modelCacheClear, target: modelTarget(name) } });
    await this.events.changed({ model: name, kind: 'cache-cleared', servingChanged: true, released: [] });
  }

  /**
   * Merges a batching change into the model's settings (InvalidInputError when the result is not
   * consistent) and writes them whole onto the row, unsaved.
   */
  private applyBatching(model: NewModel, change: BatchingSettingsDto): BatchingSettings {
    const batching = mergeBatching(effectiveBatching(model), change);
    model.batchingEnabled = batching.enabled;
    model.batchingMaxBatchSize = batching.maxBatchSize;
    model.batchingMaxQueueDelayMs = batching.maxQueueDelayMs;
    model.batchingPreferredBatchSizes = batching.preferredBatchSizes;
    return batching;
  }

  private toDto(entity: ModelEntity): ModelDto {
    return toModelDto(entity, this.config.cache.defaults);
  }

  private duplicate(name: string): ConflictError {
    return new ConflictError(`A model named '${name}' already exists; choose another name or add a version to it`);
  }
}

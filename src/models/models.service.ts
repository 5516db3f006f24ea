import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { PredictionCacheService } from '../cache/prediction-cache.service';
import { AppConfig } from '../config/app-config';
import { ConflictError, ModelNotFoundError } from '../common/errors';
import { Page, pageOf } from '../common/pagination';
import { escapeLike, isUniqueViolation } from '../database/errors';
import { CreateModelDto, ListModelsQueryDto, ModelDto, UpdateModelDto } from './dto/model.dto';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { toModelDto } from './model.mapper';
import { ServableVersionCache } from './servable-version-cache';
import { VersionCleanupService } from './version-cleanup.service';

@Injectable()
export class ModelsService {
  constructor(
    @InjectRepository(ModelEntity) private readonly models: Repository<ModelEntity>,
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
    private readonly cleanup: VersionCleanupService,
    private readonly servable: ServableVersionCache,
    private readonly cache: PredictionCacheService,
    private readonly config: AppConfig,
  ) {}

  async create(dto: CreateModelDto): Promise<ModelDto> {
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
    });
    try {
      return this.toDto(await this.models.save(entity));
    } catch (error) {
      if (isUniqueViolation(error)) throw this.duplicate(dto.name);
      throw error;
    }
  }

  async list(query: ListModelsQueryDto): Promise<Page<ModelDto>> {
    const qb = this.models.createQueryBuilder('m');
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

  async get(name: string): Promise<ModelDto> {
    return this.toDto(await this.findEntity(name));
  }

  /** The model row, or ModelNotFoundError. For the other registry services. */
  async findEntity(name: string): Promise<ModelEntity> {
    const model = await this.models.findOneBy({ name });
    if (!model) throw new ModelNotFoundError(name);
    return model;
  }

  async update(name: string, dto: UpdateModelDto): Promise<ModelDto> {
    const model = await this.findEntity(name);
    if (dto.description !== undefined) model.description = dto.description;
    if (dto.tags !== undefined) model.tags = dto.tags;
    if (dto.logPayloads !== undefined) model.logPayloads = dto.logPayloads;
    // Settings the prediction path reads: every replica must see them on its next request.
    const servingChanged = dto.cache !== undefined || dto.logPayloads !== undefined;
    if (dto.cache?.enabled !== undefined) model.cacheEnabled = dto.cache.enabled;
    if (dto.cache?.ttlSeconds !== undefined) model.cacheTtlSeconds = dto.cache.ttlSeconds;
    const saved = await this.models.save(model);
    if (servingChanged) {
      this.servable.invalidate(name);
      await this.cache.invalidate(name);
    }
    return this.toDto(saved);
  }

  /** Removes the model, its versions (cascade) and every artifact no other version shares. */
  async delete(name: string): Promise<void> {
    const model = await this.findEntity(name);
    const versions = await this.versions.findBy({ modelId: model.id });
    await this.models.delete({ id: model.id });
    this.servable.invalidate(name);
    await this.cache.forget(name);
    await this.cleanup.afterDelete(versions);
  }

  /** Empties the model's prediction cache (its entries become unreachable on every replica). */
  async flushCache(name: string): Promise<void> {
    await this.findEntity(name);
    await this.cache.invalidate(name);
  }

  private toDto(entity: ModelEntity): ModelDto {
    return toModelDto(entity, this.config.cacheDefaults);
  }

  private duplicate(name: string): ConflictError {
    return new ConflictError(`A model named '${name}' already exists; choose another name or add a version to it`);
  }
}

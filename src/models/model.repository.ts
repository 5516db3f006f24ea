import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../auth/audit/audit.service';
import { modelPatternsWhere } from '../auth/model-patterns';
import { ModelNotFoundError } from '../common/errors';
import { escapeLike, isUniqueViolation } from '../database/errors';
import { ModelEntity } from './entities/model.entity';
import { StoredArtifact, unreferencedArtifacts } from './model-version.repository';
import type { AuditRecord } from './registry-audit';

/** A new model's columns; the database sets the rest. */
export type NewModel = Omit<ModelEntity, 'id' | 'createdAt' | 'updatedAt'>;

/** A page of the model list, filtered in SQL so that totals and paging stay right. */
export interface ModelListFilter {
  /** Model-name patterns of a scoped credential; null = every model. */
  patterns: readonly string[] | null;
  /** Part of the name or description, any case. */
  q?: string;
  tag?: string;
  skip: number;
  limit: number;
}

/** Every read and write of the `models` table. Each write commits with its audit event. */
@Injectable()
export class ModelRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  private get models() {
    return this.dataSource.getRepository(ModelEntity);
  }

  /** The model row, or ModelNotFoundError. */
  async getByName(name: string): Promise<ModelEntity> {
    const model = await this.models.findOneBy({ name });
    if (!model) throw new ModelNotFoundError(name);
    return model;
  }

  exists(name: string): Promise<boolean> {
    return this.models.existsBy({ name });
  }

  /** By name, with the total before paging. */
  page(filter: ModelListFilter): Promise<[ModelEntity[], number]> {
    const qb = this.models.createQueryBuilder('m');
    const scope = modelPatternsWhere('m.name', filter.patterns);
    if (scope) qb.andWhere(scope.sql, scope.parameters);
    if (filter.q) {
      const pattern = `%${escapeLike(filter.q.toLowerCase())}%`;
      qb.andWhere("(LOWER(m.name) LIKE :q ESCAPE '\\' OR LOWER(m.description) LIKE :q ESCAPE '\\')", { q: pattern });
    }
    if (filter.tag) {
      qb.andWhere("m.tags LIKE :tag ESCAPE '\\'", { tag: `%${escapeLike(JSON.stringify(filter.tag))}%` });
    }
    return qb.orderBy('m.name', 'ASC').skip(filter.skip).take(filter.limit).getManyAndCount();
  }

  /** The new row, or undefined when the name is taken (a concurrent create may have won). */
  async insert(fields: NewModel, audit: AuditRecord): Promise<ModelEntity | undefined> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const row = await manager.save(manager.create(ModelEntity, fields));
        await this.audit.record(manager, audit.caller, audit.entry);
        return row;
      });
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  save(model: ModelEntity, audit: AuditRecord): Promise<ModelEntity> {
    return this.dataSource.transaction(async (manager) => {
      const row = await manager.save(model);
      await this.audit.record(manager, audit.caller, audit.entry);
      return row;
    });
  }

  /**
   * Deletes the model; its versions (`versions`, read before) go with it. Returns their artifacts
   * that no other model's version uses.
   */
  delete(model: ModelEntity, versions: readonly StoredArtifact[], audit: AuditRecord): Promise<StoredArtifact[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.delete(ModelEntity, { id: model.id });
      await this.audit.record(manager, audit.caller, audit.entry);
      return unreferencedArtifacts(manager, versions);
    });
  }

  /** An audit event about the model that changes no row (a cache flush). */
  record(audit: AuditRecord): Promise<void> {
    return this.dataSource.transaction((manager) => this.audit.record(manager, audit.caller, audit.entry));
  }
}

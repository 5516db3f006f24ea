import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../auth/audit/audit.service';
import { modelPatternsWhere } from '../auth/model-patterns';
import {
  ConflictError,
  InvalidInputError,
  ModelNotFoundError,
  NotFoundError,
  VersionNotFoundError,
} from '../common/errors';
import { escapeLike, isUniqueViolation } from '../database/errors';
import { ModelVersionEntity, VersionStatus } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { aliasTarget, assertNotInTraffic, lockModel } from './model-lock';
import { StoredArtifact, unreferencedArtifacts } from './model-version.repository';
import type { AuditRecord } from './registry-audit';
import type { TrafficPolicy } from './traffic-policy';
import type { VersionRef } from './version-ref';

/** Statuses an alias may point at: it resolves only to a ready one, but may wait on an archived one. */
const ALIAS_TARGET_STATUSES: readonly VersionStatus[] = ['ready', 'archived'];

/**
 * 404 naming a traffic member that is no version or alias of the model, 409 naming one whose
 * version is not ready (an archived version is served only when pinned by number, and a split
 * pins nothing).
 */
async function assertServable(
  manager: EntityManager,
  model: ModelEntity,
  ref: VersionRef,
  part: 'split' | 'shadow' = 'split',
): Promise<number> {
  const number = typeof ref === 'string' ? aliasTarget(model, ref) : ref;
  const target = await manager.findOneBy(ModelVersionEntity, { modelId: model.id, version: number });
  if (!target) throw new VersionNotFoundError(model.name, number);
  if (target.status !== 'ready') {
    const named = typeof ref === 'string' ? `alias '${ref}' (version ${number})` : `version ${number}`;
    throw new ConflictError(
      `The traffic ${part} names ${named} of '${model.name}', which is ${target.status}, not ready`,
    );
  }
  return number;
}

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

  /**
   * Points the alias at the version, which must exist and be ready or archived, checked in the same
   * transaction as the write so that a concurrent delete of the version cannot leave it dangling.
   * Returns the saved model and the version the alias pointed at before (null if new).
   */
  setAlias(
    name: string,
    alias: string,
    version: number,
    audit: (previous: number | null) => AuditRecord,
  ): Promise<{ model: ModelEntity; previous: number | null }> {
    return this.dataSource.transaction(async (manager) => {
      const model = await lockModel(manager, { name });
      const target = await manager.findOneBy(ModelVersionEntity, { modelId: model.id, version });
      if (!target) throw new VersionNotFoundError(name, version);
      if (!ALIAS_TARGET_STATUSES.includes(target.status)) {
        throw new ConflictError(
          `Version ${version} of '${name}' is ${target.status}; an alias may point only at a ready or archived version`,
        );
      }
      if (target.status !== 'ready') assertNotInTraffic(model, alias);
      const previous = Object.hasOwn(model.aliases, alias) ? model.aliases[alias] : null;
      model.aliases = { ...model.aliases, [alias]: version };
      return this.saveAudited(manager, model, audit(previous), previous);
    });
  }

  /**
   * Removes the alias; 404 naming it when the model has none by that name, 409 while the traffic
   * policy names it. Returns what it pointed at.
   */
  removeAlias(
    name: string,
    alias: string,
    audit: (previous: number) => AuditRecord,
  ): Promise<{ model: ModelEntity; previous: number }> {
    return this.dataSource.transaction(async (manager) => {
      const model = await lockModel(manager, { name });
      if (!Object.hasOwn(model.aliases, alias)) throw new NotFoundError(`Model '${name}' has no alias '${alias}'`);
      assertNotInTraffic(model, alias);
      const { [alias]: previous, ...rest } = model.aliases;
      model.aliases = rest;
      return this.saveAudited(manager, model, audit(previous), previous);
    });
  }

  /**
   * Sets the model's traffic policy. Every member must name an existing version (or alias) that is
   * ready now (the shadow too, and it must not resolve to a version the split serves: 400), checked under the model's lock in the same transaction as the write, so that no
   * delete or alias move slips in between. 404 naming an unknown member, 409 naming a member that is
   * not ready. Returns the saved model and the policy it replaced (null if none).
   */
  setTraffic(
    name: string,
    policy: TrafficPolicy,
    audit: (previous: TrafficPolicy | null) => AuditRecord,
  ): Promise<{ model: ModelEntity; previous: TrafficPolicy | null }> {
    return this.dataSource.transaction(async (manager) => {
      const model = await lockModel(manager, { name });
      const served = new Set<number>();
      for (const member of policy.split) served.add(await assertServable(manager, model, member.version));
      if (policy.shadow) {
        const shadow = await assertServable(manager, model, policy.shadow.version, 'shadow');
        if (served.has(shadow)) {
          throw new InvalidInputError(
            `shadow.version: ${policy.shadow.version} is version ${shadow}, which the split serves; a shadow must be another version`,
          );
        }
      }
      const previous = model.traffic;
      model.traffic = policy;
      return this.saveAudited(manager, model, audit(previous), previous);
    });
  }

  /** Removes the traffic policy; 404 when the model has none. Returns the policy removed. */
  clearTraffic(
    name: string,
    audit: (previous: TrafficPolicy) => AuditRecord,
  ): Promise<{ model: ModelEntity; previous: TrafficPolicy }> {
    return this.dataSource.transaction(async (manager) => {
      const model = await lockModel(manager, { name });
      const previous = model.traffic;
      if (!previous) throw new NotFoundError(`Model '${name}' has no traffic policy`);
      model.traffic = null;
      return this.saveAudited(manager, model, audit(previous), previous);
    });
  }

  private async saveAudited<P>(
    manager: EntityManager,
    model: ModelEntity,
    audit: AuditRecord,
    previous: P,
  ): Promise<{ model: ModelEntity; previous: P }> {
    const saved = await manager.save(model);
    await this.audit.record(manager, audit.caller, audit.entry);
    return { model: saved, previous };
  }

  /** An audit event about the model that changes no row (a cache flush). */
  record(audit: AuditRecord): Promise<void> {
    return this.dataSource.transaction((manager) => this.audit.record(manager, audit.caller, audit.entry));
  }
}

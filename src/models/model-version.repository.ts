import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuditService } from '../auth/audit/audit.service';
import { boundedList } from '../common/bounded-text';
import { ConflictError, ModelNotFoundError } from '../common/errors';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { aliasesOf, assertNotInTraffic, lockModel } from './model-lock';
import type { AuditRecord } from './registry-audit';

/** The bytes a version points at. Versions with the same bytes share one artifact. */
export type StoredArtifact = Pick<ModelVersionEntity, 'sha256' | 'storageKey'>;

/** A version's own fields; the repository numbers it. */
export type NewVersion = Omit<ModelVersionEntity, 'id' | 'modelId' | 'model' | 'version' | 'createdAt' | 'updatedAt'>;

/**
 * Of `removed` (versions just deleted in the transaction `manager` runs), the artifacts that no
 * version uses any more, one per storage key.
 */
export async function unreferencedArtifacts(
  manager: EntityManager,
  removed: readonly StoredArtifact[],
): Promise<StoredArtifact[]> {
  const byKey = new Map(removed.map(({ sha256, storageKey }) => [storageKey, { sha256, storageKey }]));
  if (byKey.size === 0) return [];
  const stillUsed = await manager.find(ModelVersionEntity, {
    select: { storageKey: true },
    where: { storageKey: In([...byKey.keys()]) },
  });
  for (const { storageKey } of stillUsed) byKey.delete(storageKey);
  return [...byKey.values()];
}

/**
 * Every read and write of the `model_versions` table, and of the model columns that follow from
 * its rows (`version_counter`, `latest_version`). Each write commits with its audit event.
 */
@Injectable()
export class ModelVersionRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  private get versions() {
    return this.dataSource.getRepository(ModelVersionEntity);
  }

  find(modelId: string, version: number): Promise<ModelVersionEntity | null> {
    return this.versions.findOneBy({ modelId, version });
  }

  /** A version by its row id, with its model; null once it was deleted. */
  async findWithModel(id: string): Promise<{ model: ModelEntity; version: ModelVersionEntity } | null> {
    const version = await this.versions.findOne({ where: { id }, relations: { model: true } });
    return version?.model ? { model: version.model, version } : null;
  }

  /** Newest first, with the total before paging. */
  page(modelId: string, skip: number, take: number): Promise<[ModelVersionEntity[], number]> {
    return this.versions.findAndCount({ where: { modelId }, order: { version: 'DESC' }, skip, take });
  }

  /** Every version of the model. */
  forModel(modelId: string): Promise<ModelVersionEntity[]> {
    return this.versions.findBy({ modelId });
  }

  /** The `limit` ready versions created last, newest first. */
  recentReady(limit: number): Promise<ModelVersionEntity[]> {
    return this.versions.find({ where: { status: 'ready' }, order: { createdAt: 'DESC' }, take: limit });
  }

  /** Whether any version points at these bytes. */
  isUsed(sha256: string): Promise<boolean> {
    return this.versions.existsBy({ sha256 });
  }

  /**
   * Adds the model's next version (numbers are never reused) and makes it the latest; `audit`
   * gets the number. ModelNotFoundError when the model was deleted meanwhile.
   */
  insert(
    model: Pick<ModelEntity, 'id' | 'name'>,
    fields: NewVersion,
    audit: (version: number) => AuditRecord,
  ): Promise<ModelVersionEntity> {
    return this.dataSource.transaction(async (manager) => {
      // The increment locks the model row, so concurrent uploads get distinct numbers.
      const updated = await manager.increment(ModelEntity, { id: model.id }, 'versionCounter', 1);
      if (!updated.affected) throw new ModelNotFoundError(model.name);
      const { versionCounter: version } = await manager.findOneByOrFail(ModelEntity, { id: model.id });
      const entity = await manager.save(manager.create(ModelVersionEntity, { ...fields, modelId: model.id, version }));
      await manager.update(ModelEntity, { id: model.id }, { latestVersion: version });
      const { caller, entry } = audit(version);
      await this.audit.record(manager, caller, entry);
      return entity;
    });
  }

  /**
   * Deletes the version and points the model's latest at its highest ready version left.
   * Returns the version's artifact when no other version uses it. 409 naming the aliases that
   * point at it, or the traffic policy that names it, checked under the model's lock so that no alias moves onto it meanwhile.
   */
  delete(version: ModelVersionEntity, audit: AuditRecord): Promise<StoredArtifact[]> {
    return this.dataSource.transaction(async (manager) => {
      const model = await lockModel(manager, { id: version.modelId });
      assertNotInTraffic(model, version.version);
      const aliases = aliasesOf(model, version.version);
      if (aliases.length > 0) {
        throw new ConflictError(
          `Version ${version.version} of '${model.name}' is the target of alias ${boundedList(aliases.map((a) => `'${a}'`))}; ` +
            'move or delete the alias first',
        );
      }
      await manager.delete(ModelVersionEntity, { id: version.id });
      await this.audit.record(manager, audit.caller, audit.entry);
      await refreshLatest(manager, version.modelId);
      return unreferencedArtifacts(manager, [version]);
    });
  }

  /**
   * Marks every ready version stored as these bytes `failed`, with the reason, and recomputes the
   * latest ready version of their models. Returns the versions marked, by model name.
   */
  markFailed(sha256: string, reason: string): Promise<{ model: string; version: number }[]> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await manager.find(ModelVersionEntity, {
        where: { sha256, status: 'ready' },
        relations: { model: true },
      });
      if (rows.length === 0) return [];
      await manager.update(
        ModelVersionEntity,
        { id: In(rows.map((r) => r.id)) },
        { status: 'failed', failureReason: reason },
      );
      for (const modelId of new Set(rows.map((r) => r.modelId))) await refreshLatest(manager, modelId);
      return rows.map((r) => ({ model: r.model?.name ?? r.modelId, version: r.version }));
    });
  }

  /**
   * Saves a change of the version's description, status or metadata and points the model's latest
   * at its highest ready version (an archived one is skipped, an unarchived one may be it again).
   */
  update(version: ModelVersionEntity, audit: AuditRecord): Promise<ModelVersionEntity> {
    return this.dataSource.transaction(async (manager) => {
      const model = await lockModel(manager, { id: version.modelId });
      // The traffic split serves only ready versions: archiving one it names, directly or by alias, is refused.
      if (version.status !== 'ready') {
        for (const ref of [version.version, ...aliasesOf(model, version.version)]) assertNotInTraffic(model, ref);
      }
      const saved = await manager.save(version);
      await this.audit.record(manager, audit.caller, audit.entry);
      await refreshLatest(manager, version.modelId);
      return saved;
    });
  }
}

/** Sets the model's `latest_version` to its highest ready version, null when none is ready. */
async function refreshLatest(manager: EntityManager, modelId: string): Promise<void> {
  const row = await manager
    .createQueryBuilder(ModelVersionEntity, 'v')
    .select('MAX(v.version)', 'latest')
    .where('v.modelId = :modelId AND v.status = :status', { modelId, status: 'ready' })
    .getRawOne<{ latest: number | string | null }>();
  const latest = row?.latest == null ? null : Number(row.latest);
  await manager.update(ModelEntity, { id: modelId }, { latestVersion: latest });
}

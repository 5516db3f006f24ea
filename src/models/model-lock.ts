import type { EntityManager } from 'typeorm';
import { ConflictError, ModelNotFoundError, NotFoundError } from '../common/errors';
import { ModelEntity } from './entities/model.entity';
import type { VersionRef } from './version-ref';

/**
 * The model row, locked until the transaction `manager` runs ends (PostgreSQL: SELECT ... FOR
 * UPDATE; SQLite runs one write transaction at a time), so writes that read and rewrite the row or
 * depend on its aliases (alias moves, version deletes) never interleave. ModelNotFoundError when
 * there is none.
 */
export async function lockModel(
  manager: EntityManager,
  where: { id: string } | { name: string },
): Promise<ModelEntity> {
  const query = manager.createQueryBuilder(ModelEntity, 'm').where(where);
  if (manager.connection.options.type === 'postgres') query.setLock('pessimistic_write');
  const model = await query.getOne();
  if (!model) throw new ModelNotFoundError('name' in where ? where.name : where.id);
  return model;
}

/** The aliases pointing at a version, by name. */
export function aliasesOf(model: Pick<ModelEntity, 'aliases'>, version: number): string[] {
  return Object.entries(model.aliases)
    .filter(([, target]) => target === version)
    .map(([alias]) => alias)
    .sort();
}

/** The version number an alias of the model points at; 404 naming the alias when it has none. */
export function aliasTarget(model: Pick<ModelEntity, 'name' | 'aliases'>, alias: string): number {
  // Own keys only: an alias named like an Object.prototype member is just another name.
  if (!Object.hasOwn(model.aliases, alias)) throw new NotFoundError(`Model '${model.name}' has no alias '${alias}'`);
  return model.aliases[alias];
}

/**
 * 409 when the model's traffic policy names this version number or alias (in its split or as its shadow): deleting it (or making
 * it resolve to a version that is not ready) would leave requests naming no version with a member
 * that cannot serve.
 */
export function assertNotInTraffic(model: Pick<ModelEntity, 'name' | 'traffic'>, ref: VersionRef): void {
  const named = typeof ref === 'string' ? `Alias '${ref}'` : `Version ${ref}`;
  const fix = 'change it (PUT .../traffic) or delete it (DELETE .../traffic) first';
  if (model.traffic?.split.some((member) => member.version === ref)) {
    throw new ConflictError(`${named} of '${model.name}' is a member of its traffic policy; ${fix}`);
  }
  if (model.traffic?.shadow?.version === ref) {
    throw new ConflictError(`${named} of '${model.name}' is the shadow of its traffic policy; ${fix}`);
  }
}

import type { EntityManager } from 'typeorm';
import { ModelNotFoundError } from '../common/errors';
import { ModelEntity } from './entities/model.entity';

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

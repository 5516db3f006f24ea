import type { CreateModelDto, UpdateModelDto } from './dto/model.dto';

/**
 * Targets and details of the registry's audit events. Details are safe facts about the change
 * (field names, settings, tags, hashes and sizes); descriptions are named but not copied, and no
 * model bytes, inputs or outputs ever appear.
 */
export const REGISTRY_ACTIONS = {
  modelCreate: 'model.create',
  modelUpdate: 'model.update',
  modelDelete: 'model.delete',
  modelCacheClear: 'model.cache.clear',
  versionCreate: 'version.create',
  versionDelete: 'version.delete',
} as const;

export function modelTarget(name: string): string {
  return `model:${name}`;
}

export function versionTarget(name: string, version: number): string {
  return `version:${name}/${version}`;
}

/** The settings a new model starts with. */
export function modelCreateDetails(dto: CreateModelDto): Record<string, unknown> {
  return {
    tags: dto.tags ?? [],
    ...(dto.cache !== undefined ? { cache: { ...dto.cache } } : {}),
    logPayloads: dto.logPayloads ?? false,
  };
}

/** The fields a PATCH changed, with the new values of everything but the description. */
export function modelUpdateDetails(dto: UpdateModelDto): Record<string, unknown> {
  const fields = (['description', 'tags', 'cache', 'logPayloads'] as const).filter((f) => dto[f] !== undefined);
  return {
    fields,
    ...(dto.tags !== undefined ? { tags: dto.tags } : {}),
    ...(dto.cache !== undefined ? { cache: { ...dto.cache } } : {}),
    ...(dto.logPayloads !== undefined ? { logPayloads: dto.logPayloads } : {}),
  };
}

import type { AuditEntry } from '../auth/audit/audit.service';
import type { Caller } from '../auth/caller';
import type { BatchingSettings } from './batching-settings';
import type { UpdateVersionDto } from './dto/model-version.dto';
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
  versionUpdate: 'version.update',
  versionDelete: 'version.delete',
  aliasSet: 'alias.set',
  aliasDelete: 'alias.delete',
  trafficSet: 'traffic.set',
  trafficDelete: 'traffic.delete',
} as const;

export function modelTarget(name: string): string {
  return `model:${name}`;
}

export function versionTarget(name: string, version: number): string {
  return `version:${name}/${version}`;
}

/**
 * The settings a new model starts with. `batching`: the model's settings when the request set
 * them (the whole resulting settings, not only the fields sent).
 */
export function modelCreateDetails(dto: CreateModelDto, batching?: BatchingSettings): Record<string, unknown> {
  return {
    tags: dto.tags ?? [],
    ...(dto.cache !== undefined ? { cache: { ...dto.cache } } : {}),
    logPayloads: dto.logPayloads ?? false,
    ...(batching ? { batching } : {}),
  };
}

/**
 * The fields a PATCH changed, with the new values of everything but the description; for
 * batching, the whole resulting settings.
 */
export function modelUpdateDetails(dto: UpdateModelDto, batching?: BatchingSettings): Record<string, unknown> {
  const fields = (['description', 'tags', 'cache', 'logPayloads', 'batching'] as const).filter(
    (f) => dto[f] !== undefined,
  );
  return {
    fields,
    ...(dto.tags !== undefined ? { tags: dto.tags } : {}),
    ...(dto.cache !== undefined ? { cache: { ...dto.cache } } : {}),
    ...(dto.logPayloads !== undefined ? { logPayloads: dto.logPayloads } : {}),
    ...(batching ? { batching } : {}),
  };
}

/** The fields a version PATCH changed, the new status, and the metadata keys (not their values). */
export function versionUpdateDetails(dto: UpdateVersionDto): Record<string, unknown> {
  const fields = (['description', 'status', 'metadata'] as const).filter((f) => dto[f] !== undefined);
  return {
    fields,
    ...(dto.status !== undefined ? { status: dto.status } : {}),
    ...(dto.metadata !== undefined ? { metadataKeys: Object.keys(dto.metadata) } : {}),
  };
}

/** The audit event a registry write commits with, in the same transaction. */
export interface AuditRecord {
  caller: Caller;
  entry: AuditEntry;
}

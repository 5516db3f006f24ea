import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { DataSource, Repository } from 'typeorm';
import { InvalidInputError, NotFoundError } from '../../common/errors';
import { Page, pageOf, PageQueryDto } from '../../common/pagination';
import { AuditService } from '../audit/audit.service';
import { AuthEvents } from '../auth-events';
import type { Caller } from '../caller';
import { ApiKeyEntity } from '../entities/api-key.entity';
import type { CredentialFailure, Principal } from '../principal';
import { apiKeyPrefix, generateApiKey, secretMatches } from './api-key-secret';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-key.dto';

/** How long a looked-up key (or a prefix known not to exist) is trusted without a change event. */
const CACHE_TTL_MS = 60_000;
const CACHE_MAX_ENTRIES = 10_000;
/** lastUsedAt is written in one batch at this interval, not per request. */
const LAST_USED_FLUSH_MS = 15_000;

interface CachedKey {
  entity: ApiKeyEntity;
  models: string[] | null;
}

type Lookup = { found: CachedKey } | { found: null };

@Injectable()
export class ApiKeysService implements OnModuleDestroy {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly cache = new LRUCache<string, Lookup>({ max: CACHE_MAX_ENTRIES, ttl: CACHE_TTL_MS });
  /** Bumped by every change event, so a lookup that raced with one is not cached. */
  private generation = 0;
  private readonly lastUsed = new Map<string, Date>();
  private readonly flushTimer: NodeJS.Timeout;

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly events: AuthEvents,
  ) {
    events.on((event) => {
      if (event.type !== 'key.changed' && event.type !== 'flush') return;
      this.generation += 1;
      if (event.type === 'key.changed') this.cache.delete(event.prefix);
      else this.cache.clear();
    });
    // A timer has no caller to tell; flushLastUsed logs its own failure and never rejects.
    this.flushTimer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.flushTimer.unref();
  }

  async create(dto: CreateApiKeyDto, caller: Caller): Promise<CreatedApiKeyDto> {
    const expiresAt = dto.expiresAt === undefined ? null : new Date(dto.expiresAt);
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new InvalidInputError('expiresAt must be in the future', [{ field: 'expiresAt', problem: 'in the past' }]);
    }
    const secret = generateApiKey();
    const models = dto.models ? [...new Set(dto.models)] : null;
    const entity = await this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(
        manager.create(ApiKeyEntity, {
          name: dto.name,
          role: dto.role,
          prefix: secret.prefix,
          hash: secret.hash,
          models: models ? JSON.stringify(models) : null,
          rateLimitPerMinute: dto.rateLimitPerMinute ?? null,
          createdBy: caller.principal.actor,
          expiresAt,
          lastUsedAt: null,
          revokedAt: null,
        }),
      );
      await this.audit.record(manager, caller, {
        action: 'key.create',
        target: `key:${saved.id}`,
        details: { name: dto.name, role: dto.role, models, expiresAt: dto.expiresAt ?? null },
      });
      return saved;
    });
    // A replica may have cached this prefix as unknown (someone guessed it): forget that everywhere.
    await this.events.publish({ type: 'key.changed', prefix: entity.prefix });
    return { ...toApiKeyDto(entity), key: secret.key };
  }

  async list(query: PageQueryDto): Promise<Page<ApiKeyDto>> {
    const [rows, total] = await this.keys.findAndCount({
      order: { createdAt: 'DESC', id: 'ASC' },
      skip: query.skip,
      take: query.limit,
    });
    return pageOf(
      rows.map((row) => toApiKeyDto(row, this.lastUsed.get(row.id))),
      total,
      query,
    );
  }

  /** Revokes the key on every replica. Revoking an already revoked key changes nothing. */
  async revoke(id: string, caller: Caller): Promise<void> {
    const entity = await this.keys.findOneBy({ id });
    if (!entity) throw new NotFoundError(`API key '${id}' does not exist`);
    if (entity.revokedAt === null) {
      await this.dataSource.transaction(async (manager) => {
        await manager.update(ApiKeyEntity, { id }, { revokedAt: new Date() });
        await this.audit.record(manager, caller, {
          action: 'key.revoke',
          target: `key:${id}`,
          details: { name: entity.name },
        });
      });
    }
    await this.events.publish({ type: 'key.changed', prefix: entity.prefix });
  }

  /** The principal of a presented key, or why it does not authenticate. */
  async authenticate(key: string): Promise<Principal | CredentialFailure> {
    const prefix = apiKeyPrefix(key);
    if (!prefix) return 'malformed';
    const found = (this.cache.get(prefix) ?? (await this.lookUp(prefix))).found;
    if (!found || !secretMatches(key, found.entity.hash)) return 'unknown';
    const { entity } = found;
    if (entity.revokedAt !== null) return 'revoked';
    if (entity.expiresAt !== null && entity.expiresAt.getTime() <= Date.now()) return 'expired';
    this.lastUsed.set(entity.id, new Date());
    return {
      kind: 'key',
      id: entity.id,
      name: entity.name,
      role: entity.role,
      actor: `key:${entity.id}`,
      models: found.models,
      rateLimitPerMinute: entity.rateLimitPerMinute,
    };
  }

  private async lookUp(prefix: string): Promise<Lookup> {
    const generation = this.generation;
    const entity = await this.keys.findOneBy({ prefix });
    const lookup: Lookup = {
      found: entity ? { entity, models: entity.models ? (JSON.parse(entity.models) as string[]) : null } : null,
    };
    if (generation === this.generation) this.cache.set(prefix, lookup);
    return lookup;
  }

  /** Whether any key exists (revoked or not): the bootstrap creates one only on an empty store. */
  async any(): Promise<boolean> {
    return (await this.keys.count({ take: 1 })) > 0;
  }

  /** Writes the lastUsedAt values gathered since the previous flush, in one transaction. */
  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const pending = [...this.lastUsed];
    this.lastUsed.clear();
    try {
      await this.dataSource.transaction(async (manager) => {
        for (const [id, at] of pending) await manager.update(ApiKeyEntity, { id }, { lastUsedAt: at });
      });
    } catch (error) {
      this.logger.warn({ msg: 'Could not record lastUsedAt of API keys', err: (error as Error).message });
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushLastUsed();
  }
}

function iso(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}

function toApiKeyDto(entity: ApiKeyEntity, pendingLastUsed?: Date): ApiKeyDto {
  return {
    id: entity.id,
    name: entity.name,
    role: entity.role,
    prefix: entity.prefix,
    models: entity.models ? (JSON.parse(entity.models) as string[]) : null,
    rateLimitPerMinute: entity.rateLimitPerMinute,
    createdAt: entity.createdAt.toISOString(),
    expiresAt: iso(entity.expiresAt),
    lastUsedAt: iso(pendingLastUsed ?? entity.lastUsedAt),
    revokedAt: iso(entity.revokedAt),
  };
}

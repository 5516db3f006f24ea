import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { ConflictError, NotFoundError } from '../../common/errors';
import { AppConfig } from '../../config/app-config';
import { isUniqueViolation } from '../../database/errors';
import { Page, pageOf, PageQueryDto } from '../../common/pagination';
import { AuditService } from '../audit/audit.service';
import { AuthEvents } from '../auth-events';
import type { Caller } from '../caller';
import { UserEntity } from '../entities/user.entity';
import { RefreshTokensService } from '../login/refresh-tokens.service';
import { hashPassword } from './password';
import { CreateUserDto, UpdateUserDto, UserDto } from './user.dto';

/**
 * Users (admin only). Every write is audited in its own transaction. A deletion or a new password
 * ends the user's sessions (refresh tokens revoked, access tokens refused); a role change applies
 * to tokens already issued. Both reach every replica at once through AuthEvents `user.changed`.
 */
@Injectable()
export class UsersService {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly events: AuthEvents,
    private readonly refreshTokens: RefreshTokensService,
    private readonly config: AppConfig,
  ) {}

  async create(dto: CreateUserDto, caller: Caller): Promise<UserDto> {
    const passwordHash = await hashPassword(dto.password);
    try {
      const user = await this.dataSource.transaction(async (manager) => {
        const saved = await manager.save(
          manager.create(UserEntity, { username: dto.username, passwordHash, role: dto.role }),
        );
        await this.audit.record(manager, caller, {
          action: 'user.create',
          target: `user:${dto.username}`,
          details: { role: dto.role },
        });
        return saved;
      });
      if (this.config.app.nodeEnv === 'production' && !this.config.auth.jwtSecret) {
        this.logger.warn('A user exists but JWT_SECRET is not set: the next start will fail until it is set');
      }
      return toUserDto(user);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`A user named '${dto.username}' already exists`);
      throw error;
    }
  }

  async list(query: PageQueryDto): Promise<Page<UserDto>> {
    const [rows, total] = await this.users.findAndCount({
      order: { createdAt: 'DESC', id: 'ASC' },
      skip: query.skip,
      take: query.limit,
    });
    return pageOf(rows.map(toUserDto), total, query);
  }

  async get(username: string): Promise<UserDto> {
    return toUserDto(await this.find(username));
  }

  /** Changes the role and/or the password; a request that changes nothing writes nothing. */
  async update(username: string, dto: UpdateUserDto, caller: Caller): Promise<UserDto> {
    const user = await this.find(username);
    const changes: Partial<Pick<UserEntity, 'role' | 'passwordHash'>> = {};
    if (dto.role !== undefined && dto.role !== user.role) changes.role = dto.role;
    if (dto.password !== undefined) changes.passwordHash = await hashPassword(dto.password);
    if (Object.keys(changes).length === 0) return toUserDto(user);
    await this.dataSource.transaction(async (manager) => {
      const updated = await manager.update(UserEntity, { id: user.id }, changes);
      if (updated.affected === 0) throw this.notFound(username);
      // A new password ends every session: whoever had the old one keeps nothing.
      if (changes.passwordHash) await this.refreshTokens.revokeUser(manager, user.id);
      await this.audit.record(manager, caller, {
        action: 'user.update',
        target: `user:${username}`,
        details: {
          changed: [...(changes.role ? ['role'] : []), ...(changes.passwordHash ? ['password'] : [])],
          ...(changes.role ? { role: { from: user.role, to: changes.role } } : {}),
        },
      });
    });
    await this.events.publish({ type: 'user.changed', userId: user.id });
    return toUserDto(await this.find(username));
  }

  async delete(username: string, caller: Caller): Promise<void> {
    const user = await this.find(username);
    await this.dataSource.transaction(async (manager) => {
      await this.refreshTokens.deleteUser(manager, user.id);
      const deleted = await manager.delete(UserEntity, { id: user.id });
      if (deleted.affected === 0) throw this.notFound(username);
      await this.audit.record(manager, caller, {
        action: 'user.delete',
        target: `user:${username}`,
        details: { role: user.role },
      });
    });
    await this.events.publish({ type: 'user.changed', userId: user.id });
  }

  private async find(username: string): Promise<UserEntity> {
    const user = await this.users.findOneBy({ username });
    if (!user) throw this.notFound(username);
    return user;
  }

  private notFound(username: string): NotFoundError {
    return new NotFoundError(`User '${username}' does not exist`);
  }
}

/** The one mapping to the response: never the password hash. */
export function toUserDto(user: UserEntity): UserDto {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull, LessThan } from 'typeorm';
import { UnauthenticatedError } from '../../common/errors';
import { AppConfig, AuthConfig } from '../../config/app-config';
import { AuthEvents } from '../auth-events';
import { RefreshTokenEntity } from '../entities/refresh-token.entity';

/** A new refresh token: the secret for the cookie (never stored) and its session. */
export interface IssuedRefreshToken {
  token: string;
  familyId: string;
}

/** The refresh token that was exchanged: whose it was, and its session. */
export interface RotatedRefreshToken extends IssuedRefreshToken {
  userId: string;
}

const INVALID = 'The refresh token is not valid; log in again';

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Refresh tokens: 32 random bytes (base64url), stored only as SHA-256. Each login starts a family
 * (a session); each refresh marks the token used and issues the next one of the family. A used
 * token presented again means it was copied: the whole family is revoked, which also ends the
 * access tokens of that session (TokenSubjects), on every replica.
 */
@Injectable()
export class RefreshTokensService {
  private readonly auth: AuthConfig;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: AuthEvents,
    config: AppConfig,
  ) {
    this.auth = config.auth;
  }

  /** Starts a session for the user (and forgets the user's long-expired tokens). */
  async start(userId: string): Promise<IssuedRefreshToken> {
    return this.dataSource.transaction(async (manager) => {
      // Kept until every access token issued with them has expired too (a revoked row must outlive them).
      const cutoff = new Date(Date.now() - this.auth.accessTtlSeconds * 1000);
      await manager.delete(RefreshTokenEntity, { userId, expiresAt: LessThan(cutoff) });
      return this.insert(manager, userId, randomUUID());
    });
  }

  /**
   * Exchanges a refresh token for the next one of its session. Race-safe: the token is marked
   * used with a conditional UPDATE, so of two concurrent uses exactly one wins and the other is
   * a reuse, which revokes the family.
   */
  async rotate(token: string): Promise<RotatedRefreshToken> {
    const hash = hashToken(token);
    type Outcome = 'invalid' | { reused: string } | RotatedRefreshToken;
    const outcome = await this.dataSource.transaction(async (manager): Promise<Outcome> => {
      const row = await manager.findOneBy(RefreshTokenEntity, { hash });
      if (!row || row.revokedAt !== null) return 'invalid';
      if (row.usedAt !== null) return { reused: row.familyId };
      if (row.expiresAt.getTime() <= Date.now()) return 'invalid';
      const marked = await manager
        .createQueryBuilder()
        .update(RefreshTokenEntity)
        .set({ usedAt: new Date() })
        .where('id = :id AND used_at IS NULL AND revoked_at IS NULL', { id: row.id })
        .execute();
      if (marked.affected !== 1) return { reused: row.familyId };
      const next = await this.insert(manager, row.userId, row.familyId);
      return { ...next, userId: row.userId };
    });
    if (outcome === 'invalid') throw new UnauthenticatedError(INVALID);
    if ('reused' in outcome) {
      await this.revokeFamily(outcome.reused);
      throw new UnauthenticatedError('The refresh token was already used; the session is revoked. Log in again');
    }
    return outcome;
  }

  /** Logout: ends the token's session. Unknown tokens are ignored (logging out twice is fine). */
  async end(token: string): Promise<void> {
    const row = await this.dataSource.manager.findOneBy(RefreshTokenEntity, { hash: hashToken(token) });
    if (row) await this.revokeFamily(row.familyId);
  }

  /** Revokes every token of the user, in the caller's transaction (a password change). */
  async revokeUser(manager: EntityManager, userId: string): Promise<void> {
    await manager.update(RefreshTokenEntity, { userId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  /** Removes every token of the user, in the caller's transaction (a deletion). */
  async deleteUser(manager: EntityManager, userId: string): Promise<void> {
    await manager.delete(RefreshTokenEntity, { userId });
  }

  private async revokeFamily(familyId: string): Promise<void> {
    await this.dataSource.manager.update(
      RefreshTokenEntity,
      { familyId, revokedAt: IsNull() },
      { revokedAt: new Date() },
    );
    await this.events.publish({ type: 'token-family.revoked', familyId });
  }

  private async insert(manager: EntityManager, userId: string, familyId: string): Promise<IssuedRefreshToken> {
    const token = randomBytes(32).toString('base64url');
    await manager.insert(RefreshTokenEntity, {
      userId,
      familyId,
      hash: hashToken(token),
      expiresAt: new Date(Date.now() + this.auth.refreshTtlSeconds * 1000),
      usedAt: null,
      revokedAt: null,
    });
    return { token, familyId };
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { IsNull, Not, Repository } from 'typeorm';
import { AuthEvents } from '../auth-events';
import { RefreshTokenEntity } from '../entities/refresh-token.entity';
import { UserEntity } from '../entities/user.entity';
import type { Role } from '../roles';

/** How long a looked-up state is trusted without a change event (events make changes apply at once). */
const CACHE_TTL_MS = 60_000;
const CACHE_MAX_ENTRIES = 10_000;

/**
 * What an access token cannot carry: its user's current role (null once deleted) and whether its
 * session (refresh-token family) was revoked. Cached per replica, loaded from the database on a
 * miss and dropped on AuthEvents, so a deletion, a role change, a logout or a password change
 * applies to tokens already issued, at once, on every replica, for the cost of two Map lookups.
 */
@Injectable()
export class TokenSubjects {
  private readonly roles = new LRUCache<string, { role: Role | null }>({ max: CACHE_MAX_ENTRIES, ttl: CACHE_TTL_MS });
  private readonly families = new LRUCache<string, { userId: string; revoked: boolean }>({
    max: CACHE_MAX_ENTRIES,
    ttl: CACHE_TTL_MS,
  });
  /** Bumped by every change event, so a lookup that raced with one is not cached. */
  private generation = 0;

  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    @InjectRepository(RefreshTokenEntity) private readonly refreshTokens: Repository<RefreshTokenEntity>,
    events: AuthEvents,
  ) {
    events.on((event) => {
      if (event.type === 'user.changed') {
        this.generation += 1;
        this.roles.delete(event.userId);
        for (const [familyId, family] of this.families.entries()) {
          if (family.userId === event.userId) this.families.delete(familyId);
        }
      } else if (event.type === 'token-family.revoked') {
        this.generation += 1;
        this.families.delete(event.familyId);
      } else if (event.type === 'flush') {
        this.generation += 1;
        this.roles.clear();
        this.families.clear();
      }
    });
  }

  /** The user's current role; null when the user no longer exists. */
  async role(userId: string): Promise<Role | null> {
    const cached = this.roles.get(userId);
    if (cached) return cached.role;
    const generation = this.generation;
    const user = await this.users.findOne({ select: { id: true, role: true }, where: { id: userId } });
    const state = { role: user ? user.role : null };
    if (generation === this.generation) this.roles.set(userId, state);
    return state.role;
  }

  /** Whether the session was ended (logout, a reused refresh token, a password change, a deletion). */
  async familyRevoked(familyId: string, userId: string): Promise<boolean> {
    const cached = this.families.get(familyId);
    if (cached) return cached.revoked;
    const generation = this.generation;
    const revoked = await this.refreshTokens.exists({ where: { familyId, revokedAt: Not(IsNull()) } });
    if (generation === this.generation) this.families.set(familyId, { userId, revoked });
    return revoked;
  }
}

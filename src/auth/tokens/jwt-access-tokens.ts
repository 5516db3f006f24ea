import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import { AppConfig, AuthConfig } from '../../config/app-config';
import type { CredentialFailure, Principal } from '../principal';
import type { Role } from '../roles';
import { AccessTokens } from './access-tokens';
import { JwtSecret } from './jwt-secret';
import { TokenSubjects } from './token-subjects';

const ALGORITHMS = ['HS256'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Tokens whose signature and claims were already checked, so a client's repeated token costs no HMAC. */
const VERIFIED_CACHE_MAX_ENTRIES = 10_000;

/** Who an access token is for and which login session (refresh-token family) it belongs to. */
export interface TokenSubject {
  userId: string;
  username: string;
  role: Role;
  familyId: string;
}

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

interface VerifiedClaims {
  userId: string;
  username: string;
  familyId: string;
  /** Expiry in ms since the epoch. */
  expiresAt: number;
}

/**
 * Access tokens are JWTs signed with HS256 (JWT_SECRET): sub = user id, name = username, role,
 * sid = the login session, iss, aud, iat, exp, jti. Verification checks the signature, the
 * algorithm allowlist, expiry, issuer and audience, then takes the user's current role and the
 * session's state from TokenSubjects: a deleted user's token, or one of a session that was
 * logged out, is revoked at once, and a role change applies to tokens already issued.
 */
@Injectable()
export class JwtAccessTokens extends AccessTokens {
  private readonly auth: AuthConfig;
  private readonly verified: LRUCache<string, VerifiedClaims>;

  constructor(
    config: AppConfig,
    private readonly secret: JwtSecret,
    private readonly subjects: TokenSubjects,
  ) {
    super();
    this.auth = config.auth;
    this.verified = new LRUCache({ max: VERIFIED_CACHE_MAX_ENTRIES, ttl: this.auth.accessTtlSeconds * 1000 });
  }

  async issue(subject: TokenSubject): Promise<IssuedAccessToken> {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ role: subject.role, name: subject.username, sid: subject.familyId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject.userId)
      .setIssuer(this.auth.issuer)
      .setAudience(this.auth.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.auth.accessTtlSeconds)
      .setJti(randomUUID())
      .sign(this.secret.key);
    return { accessToken, expiresIn: this.auth.accessTtlSeconds };
  }

  async verify(token: string): Promise<Principal | CredentialFailure> {
    const claims = this.verified.get(token) ?? (await this.verifySignature(token));
    if (typeof claims === 'string') return claims;
    if (claims.expiresAt <= Date.now()) return 'expired';
    const role = await this.subjects.role(claims.userId);
    if (role === null || (await this.subjects.familyRevoked(claims.familyId, claims.userId))) return 'revoked';
    return {
      kind: 'user',
      id: claims.userId,
      name: claims.username,
      role,
      actor: `user:${claims.userId}`,
      models: null,
      rateLimitPerMinute: null,
    };
  }

  private async verifySignature(token: string): Promise<VerifiedClaims | CredentialFailure> {
    try {
      const { payload } = await jwtVerify(token, this.secret.key, {
        algorithms: ALGORITHMS,
        issuer: this.auth.issuer,
        audience: this.auth.audience,
        typ: 'JWT',
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
        // Date.now(), not jose's own clock: one clock for every expiry check (tests move it).
        currentDate: new Date(Date.now()),
      });
      const { sub, name, sid, exp } = payload;
      if (typeof sub !== 'string' || !UUID.test(sub) || typeof name !== 'string' || typeof sid !== 'string') {
        return 'unknown';
      }
      const claims: VerifiedClaims = { userId: sub, username: name, familyId: sid, expiresAt: (exp as number) * 1000 };
      this.verified.set(token, claims);
      return claims;
    } catch (error) {
      return error instanceof errors.JWTExpired ? 'expired' : 'unknown';
    }
  }
}

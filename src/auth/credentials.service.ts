import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppConfig, AuthConfig } from '../config/app-config';
import { ApiKeysService } from './keys/api-keys.service';
import { hashSecret, secretMatches } from './keys/api-key-secret';
import type { CredentialFailure, Principal } from './principal';
import { AccessTokens } from './tokens/access-tokens';

const MAX_CREDENTIAL_LENGTH = 4096;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const ADMIN_KEY_PRINCIPAL: Principal = Object.freeze({
  kind: 'admin-key',
  id: 'admin-key',
  name: 'ADMIN_API_KEY',
  role: 'admin',
  actor: 'admin-key',
  models: null,
  rateLimitPerMinute: null,
});

const METRICS_PRINCIPAL: Principal = Object.freeze({
  kind: 'metrics',
  id: 'metrics-token',
  name: 'METRICS_TOKEN',
  role: 'viewer',
  actor: 'metrics-token',
  models: null,
  rateLimitPerMinute: null,
});

/** The credential a request carries, if any: `Authorization: Bearer <x>` or `X-API-Key: <x>`. */
export function presentedCredential(req: Request): string | undefined | CredentialFailure {
  return credentialOf(req.headers.authorization, req.headers['x-api-key']);
}

/**
 * The credential of an `authorization` value (`Bearer <x>`) or, without one, an `x-api-key`
 * value: what HTTP headers and gRPC metadata both carry.
 */
export function credentialOf(header: string | undefined, apiKey: unknown): string | undefined | CredentialFailure {
  if (header === undefined && apiKey === undefined) return undefined;
  if (header !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match || match[1].length > MAX_CREDENTIAL_LENGTH) return 'malformed';
    return match[1];
  }
  if (typeof apiKey !== 'string' || apiKey.length === 0 || apiKey.length > MAX_CREDENTIAL_LENGTH) return 'malformed';
  return apiKey.trim();
}

/** Turns a presented credential into a principal: ADMIN_API_KEY, METRICS_TOKEN, an API key or an access token. */
@Injectable()
export class CredentialsService {
  private readonly auth: AuthConfig;
  private readonly adminKeyHash?: string;
  private readonly metricsTokenHash?: string;

  constructor(
    config: AppConfig,
    private readonly keys: ApiKeysService,
    private readonly tokens: AccessTokens,
  ) {
    this.auth = config.auth;
    this.adminKeyHash = this.auth.adminApiKey ? hashSecret(this.auth.adminApiKey) : undefined;
    this.metricsTokenHash = this.auth.metricsToken ? hashSecret(this.auth.metricsToken) : undefined;
  }

  async resolve(credential: string): Promise<Principal | CredentialFailure> {
    if (this.adminKeyHash && secretMatches(credential, this.adminKeyHash)) return ADMIN_KEY_PRINCIPAL;
    if (this.metricsTokenHash && secretMatches(credential, this.metricsTokenHash)) return METRICS_PRINCIPAL;
    if (credential.startsWith('mf_')) return this.keys.authenticate(credential);
    if (JWT_SHAPE.test(credential)) return this.tokens.verify(credential);
    return 'unknown';
  }
}

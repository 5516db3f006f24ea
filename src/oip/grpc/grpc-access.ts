import type { Metadata } from '@grpc/grpc-js';
import { Injectable } from '@nestjs/common';
import type { AccessRule } from '../../auth/access.decorator';
import { authorize } from '../../auth/access.guard';
import { credentialsUnavailable } from '../../auth/authenticate.middleware';
import type { Caller } from '../../auth/caller';
import { credentialOf, CredentialsService } from '../../auth/credentials.service';
import { AUTH_DISABLED_PRINCIPAL, CredentialFailure, Principal } from '../../auth/principal';
import { RateLimitHeaderSink, RateLimits } from '../../auth/rate-limits';
import { ROLES } from '../../auth/roles';
import { AppConfig } from '../../config/app-config';

/** ModelInfer: the roles of POST /api/v1/predictions and POST /v2/models/{m}/infer. */
export const INFER_ACCESS: AccessRule = Object.freeze({
  public: false,
  roles: ['admin', 'maintainer', 'predictor'] as const,
});
/** ServerMetadata, ModelMetadata and ModelReady: every role, as GET /v2 and /v2/models/{m}[/ready]. */
export const READ_ACCESS: AccessRule = Object.freeze({ public: false, roles: ROLES });

/** The one value of a metadata key; '' (malformed) when a client sent it twice. */
function single(metadata: Metadata, key: string): string | undefined {
  const values = metadata.get(key);
  if (values.length > 1) return '';
  return typeof values[0] === 'string' ? values[0] : undefined;
}

/** RateLimit-* fields as trailing metadata (gRPC keys are lower case). */
function trailerSink(trailers: Metadata): RateLimitHeaderSink {
  return { setHeader: (name, value) => trailers.set(name.toLowerCase(), value) };
}

/**
 * Who makes a gRPC call, with the services the HTTP middleware and guard use: the credential of
 * `authorization: Bearer <key or token>` (or `x-api-key`) metadata, the same 401/403 decisions
 * (UNAUTHENTICATED / PERMISSION_DENIED) and the same per-credential rate limit.
 */
@Injectable()
export class GrpcAccess {
  private readonly enabled: boolean;

  constructor(
    private readonly credentials: CredentialsService,
    private readonly rateLimits: RateLimits,
    config: AppConfig,
  ) {
    this.enabled = config.auth.enabled;
  }

  /** The caller of a call that `rule` allows; RateLimit fields (and Retry-After) go to `trailers`. */
  async callerOf(metadata: Metadata, rule: AccessRule, requestId: string, trailers: Metadata): Promise<Caller> {
    if (!this.enabled) return { principal: AUTH_DISABLED_PRINCIPAL, requestId };
    const presented = credentialOf(single(metadata, 'authorization'), single(metadata, 'x-api-key'));
    const resolved = presented === undefined || presented === 'malformed' ? presented : await this.resolve(presented);
    const principal =
      typeof resolved === 'object' ? authorize(resolved, undefined, rule) : authorize(undefined, resolved, rule);
    await this.rateLimits.admit(principal, trailerSink(trailers));
    return { principal, requestId };
  }

  private async resolve(credential: string): Promise<Principal | CredentialFailure> {
    try {
      return await this.credentials.resolve(credential);
    } catch {
      throw credentialsUnavailable();
    }
  }
}

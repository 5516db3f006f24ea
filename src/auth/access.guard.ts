import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ForbiddenError, UnauthenticatedError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ACCESS_METADATA, AccessRule, DEFAULT_ACCESS_RULE } from './access.decorator';
import {
  AUTH_DISABLED_PRINCIPAL,
  CredentialFailure,
  credentialFailureMessage,
  credentialFailureOf,
  Principal,
  principalOf,
  setPrincipal,
  wasRateAdmitted,
} from './principal';
import { RateLimits } from './rate-limits';

/**
 * The principal, if `rule` (a private one) lets it in: else 401 (no credential, or `failure`, why
 * the one sent did not resolve) or 403 (its role). The HTTP guard and the gRPC service share it.
 */
export function authorize(
  principal: Principal | undefined,
  failure: CredentialFailure | undefined,
  rule: AccessRule,
): Principal {
  if (!principal) throw new UnauthenticatedError(credentialFailureMessage(failure));
  if (principal.kind === 'metrics') {
    if (!rule.metricsToken) throw new ForbiddenError('METRICS_TOKEN may only read /metrics');
    return principal;
  }
  if (!rule.roles.includes(principal.role)) {
    throw new ForbiddenError(
      `This operation needs the role ${rule.roles.join(' or ')}; the credential has the role ${principal.role}`,
    );
  }
  return principal;
}

/**
 * The one global guard: every route is private unless marked @Public(). The credential was
 * resolved by the authenticate middleware; here the route's roles and the rate limit apply.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly enabled: boolean;

  constructor(
    private readonly reflector: Reflector,
    private readonly rateLimits: RateLimits,
    config: AppConfig,
  ) {
    this.enabled = config.auth.enabled;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule =
      this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) ?? DEFAULT_ACCESS_RULE;
    if (rule.public) return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (!this.enabled) {
      setPrincipal(req, AUTH_DISABLED_PRINCIPAL);
      return true;
    }
    const principal = authorize(principalOf(req), credentialFailureOf(req), rule);
    if (principal.kind === 'metrics') return true;
    // Body routes were admitted before their body was read (requireCredential).
    if (!wasRateAdmitted(req)) await this.rateLimits.admit(principal, context.switchToHttp().getResponse<Response>());
    return true;
  }
}

import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ForbiddenError, UnauthenticatedError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ACCESS_METADATA, AccessRule, DEFAULT_ACCESS_RULE } from './access.decorator';
import {
  AUTH_DISABLED_PRINCIPAL,
  credentialFailureMessage,
  credentialFailureOf,
  principalOf,
  setPrincipal,
  wasRateAdmitted,
} from './principal';
import { RateLimits } from './rate-limits';

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
    const principal = principalOf(req);
    if (!principal) {
      throw new UnauthenticatedError(credentialFailureMessage(credentialFailureOf(req)));
    }
    if (principal.kind === 'metrics') {
      if (!rule.metricsToken) throw new ForbiddenError('METRICS_TOKEN may only read /metrics');
      return true;
    }
    if (!rule.roles.includes(principal.role)) {
      throw new ForbiddenError(
        `This operation needs the role ${rule.roles.join(' or ')}; the credential has the role ${principal.role}`,
      );
    }
    // Body routes were admitted before their body was read (requireCredential).
    if (!wasRateAdmitted(req)) await this.rateLimits.admit(principal, context.switchToHttp().getResponse<Response>());
    return true;
  }
}

import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiSecurity } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import type { Role } from './roles';

export const ACCESS_METADATA = 'modelforge:access';

/** Who may call a route. Admin may call every private route, so it is implied. */
export interface AccessRule {
  /** Public: no credential needed (health, docs, login). */
  public: boolean;
  roles: readonly Role[];
  /** /metrics also takes METRICS_TOKEN. */
  metricsToken?: boolean;
}

export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'apiKey';

/** No credential needed (openapi.ts gives the operation `security: []`). */
export function Public(): MethodDecorator & ClassDecorator {
  const rule: AccessRule = { public: true, roles: [] };
  return applyDecorators(SetMetadata(ACCESS_METADATA, rule), ApiExtension('x-required-roles', []));
}

/**
 * The roles (besides admin) that may call the route. Declares the bearer and X-API-Key security
 * schemes, the required roles (`x-required-roles`) and the 401/403/429 answers in the OpenAPI document.
 */
export function Access(...roles: Role[]): MethodDecorator & ClassDecorator {
  return accessDecorators({ public: false, roles: withAdmin(roles) });
}

/** Access for /metrics: the roles, or METRICS_TOKEN. */
export function MetricsAccess(...roles: Role[]): MethodDecorator & ClassDecorator {
  return accessDecorators({ public: false, roles: withAdmin(roles), metricsToken: true });
}

function withAdmin(roles: Role[]): Role[] {
  return roles.includes('admin') ? roles : ['admin', ...roles];
}

function accessDecorators(rule: AccessRule): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ACCESS_METADATA, rule),
    ApiBearerAuth(BEARER_SCHEME),
    ApiSecurity(API_KEY_SCHEME),
    ApiExtension('x-required-roles', rule.roles),
    ApiErrors(401, 403, 429),
  );
}

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

/** A route nobody declared access for is private to admins (the guard and the OpenAPI document agree). */
export const DEFAULT_ACCESS_RULE: AccessRule = Object.freeze({ public: false, roles: ['admin'] as const });

export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'apiKey';
/** OpenAPI extension listing the roles that may call an operation ([] = public). */
export const REQUIRED_ROLES_EXTENSION = 'x-required-roles';
/** OpenAPI extension set on operations that also take METRICS_TOKEN. */
export const METRICS_TOKEN_EXTENSION = 'x-metrics-token';

/** No credential needed (openapi.ts gives the operation `security: []`). */
export function Public(): MethodDecorator & ClassDecorator {
  const rule: AccessRule = { public: true, roles: [] };
  return applyDecorators(SetMetadata(ACCESS_METADATA, rule), ApiExtension(REQUIRED_ROLES_EXTENSION, []));
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
    ApiExtension(REQUIRED_ROLES_EXTENSION, rule.roles),
    ...(rule.metricsToken ? [ApiExtension(METRICS_TOKEN_EXTENSION, true)] : []),
    ApiErrors(401, 403, 429),
  );
}

import type { Request } from 'express';
import type { Role } from './roles';

/** Who is calling: resolved once per request from its credential, before any route runs. */
export interface Principal {
  /** key: a stored API key; user: an access token; admin-key: ADMIN_API_KEY; metrics: METRICS_TOKEN; anonymous: AUTH_ENABLED=false. */
  kind: 'key' | 'user' | 'admin-key' | 'metrics' | 'anonymous';
  /** The key's or user's id ('admin-key', 'metrics-token' or 'auth-disabled' for the others). */
  id: string;
  /** The key's name or the username. */
  name: string;
  role: Role;
  /** Stored on predictions, jobs and audit events: `key:<id>`, `user:<id>`, `admin-key`, `auth-disabled`. */
  actor: string;
  /** Model-name patterns the credential may touch; null = every model. */
  models: readonly string[] | null;
  /** Requests per minute for this credential; null = the role's default. */
  rateLimitPerMinute: number | null;
}

/** Why a credential that was sent did not resolve (the 401 message says it). */
export type CredentialFailure = 'malformed' | 'unknown' | 'expired' | 'revoked';

const FAILURE_MESSAGES: Record<CredentialFailure, string> = {
  malformed: 'Malformed credentials: send Authorization: Bearer <api key or access token> (or X-API-Key)',
  unknown: 'Invalid credentials: the API key or access token is not valid',
  expired: 'The credential has expired',
  revoked: 'The credential has been revoked',
};

/** The 401 message for a request that sent no credential, or one that failed. */
export function credentialFailureMessage(failure: CredentialFailure | undefined): string {
  return failure
    ? FAILURE_MESSAGES[failure]
    : 'Missing credentials: send Authorization: Bearer <api key or access token> (or X-API-Key)';
}

const PRINCIPAL = Symbol('principal');
const FAILURE = Symbol('credentialFailure');
const RATE_ADMITTED = Symbol('rateAdmitted');

interface AuthenticatedRequest extends Request {
  [PRINCIPAL]?: Principal;
  [FAILURE]?: CredentialFailure;
  [RATE_ADMITTED]?: boolean;
}

/** The rate limit already took this request's token (before its body was read). */
export function wasRateAdmitted(req: Request): boolean {
  return (req as AuthenticatedRequest)[RATE_ADMITTED] === true;
}

export function markRateAdmitted(req: Request): void {
  (req as AuthenticatedRequest)[RATE_ADMITTED] = true;
}

export function principalOf(req: Request): Principal | undefined {
  return (req as AuthenticatedRequest)[PRINCIPAL];
}

export function setPrincipal(req: Request, principal: Principal): void {
  (req as AuthenticatedRequest)[PRINCIPAL] = principal;
}

export function credentialFailureOf(req: Request): CredentialFailure | undefined {
  return (req as AuthenticatedRequest)[FAILURE];
}

export function setCredentialFailure(req: Request, failure: CredentialFailure): void {
  (req as AuthenticatedRequest)[FAILURE] = failure;
}

/** The principal of AUTH_ENABLED=false: everything is allowed and recorded as `auth-disabled`. */
export const AUTH_DISABLED_PRINCIPAL: Principal = Object.freeze({
  kind: 'anonymous',
  id: 'auth-disabled',
  name: 'auth disabled',
  role: 'admin',
  actor: 'auth-disabled',
  models: null,
  rateLimitPerMinute: null,
});

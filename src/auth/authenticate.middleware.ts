import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ForbiddenError, UnauthenticatedError, UnavailableError } from '../common/errors';
import { CredentialsService, presentedCredential } from './credentials.service';
import {
  AUTH_DISABLED_PRINCIPAL,
  credentialFailureMessage,
  credentialFailureOf,
  markRateAdmitted,
  principalOf,
  setCredentialFailure,
  setPrincipal,
} from './principal';
import { RateLimits } from './rate-limits';

/** The credential store could not be read (a database outage): 503, retry in a second. */
export function credentialsUnavailable(): UnavailableError {
  return new UnavailableError('Credentials cannot be checked right now; retry shortly', 1);
}

/**
 * Resolves the request's credential, before any body is read, and records the principal (or why
 * the credential failed) on the request. It rejects nothing: public routes ignore credentials,
 * and the access guard answers 401/403 with the route's rule in hand.
 */
export function authenticateMiddleware(credentials: CredentialsService, enabled: boolean): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!enabled) {
      setPrincipal(req, AUTH_DISABLED_PRINCIPAL);
      next();
      return;
    }
    const presented = presentedCredential(req);
    if (presented === undefined) {
      next();
      return;
    }
    if (presented === 'malformed') {
      setCredentialFailure(req, presented);
      next();
      return;
    }
    credentials.resolve(presented).then(
      (result) => {
        if (typeof result === 'string') setCredentialFailure(req, result);
        else setPrincipal(req, result);
        next();
      },
      () => next(credentialsUnavailable()),
    );
  };
}

/**
 * For routes that take a body: no valid credential, no reading. Answers 401 (or 429 once the
 * credential's rate limit is spent) before a byte of the body is buffered; roles are checked by
 * the guard once the route runs, and the guard does not take a second token.
 */
export function requireCredential(enabled: boolean, rateLimits: RateLimits): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const principal = principalOf(req);
    if (!enabled) {
      next();
      return;
    }
    if (!principal) {
      next(new UnauthenticatedError(credentialFailureMessage(credentialFailureOf(req))));
      return;
    }
    if (principal.kind === 'metrics') {
      next();
      return;
    }
    markRateAdmitted(req);
    rateLimits.admit(principal, res).then(
      () => next(),
      (error: unknown) => next(error),
    );
  };
}

/** For routes outside Nest's router (the queue dashboard): only an admin credential passes. */
export function requireAdmin(enabled: boolean): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const principal = principalOf(req);
    if (!enabled || principal?.role === 'admin') next();
    else if (!principal) next(new UnauthenticatedError(credentialFailureMessage(credentialFailureOf(req))));
    else next(new ForbiddenError(`This page needs the role admin; the credential has the role ${principal.role}`));
  };
}

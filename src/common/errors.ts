/**
 * Domain errors thrown by services. They carry no HTTP knowledge; the global filter maps each
 * kind to a status so controllers, queue processors and workers can share the same services.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media'
  | 'unprocessable'
  | 'too_many'
  | 'unavailable'
  | 'insufficient_storage'
  | 'timeout';

export interface ErrorDetail {
  field: string;
  problem: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details?: ErrorDetail[],
    /** Seconds a client should wait before retrying (429/503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends DomainError {
  constructor(message: string, details?: ErrorDetail[]) {
    super('invalid', message, details);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super('not_found', message);
  }
}

export class ModelNotFoundError extends NotFoundError {
  constructor(name: string) {
    super(`Model '${name}' does not exist`);
  }
}

export class VersionNotFoundError extends NotFoundError {
  constructor(name: string, version: number | string) {
    super(`Model '${name}' has no version ${version}`);
  }
}

/** The model exists but no version of it is ready: nothing to serve yet (404, or "not ready"). */
export class NoReadyVersionError extends NotFoundError {
  constructor(name: string) {
    super(`Model '${name}' has no ready version yet; upload one`);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super('conflict', message);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(message: string) {
    super('too_large', message);
  }
}

export class UnprocessableError extends DomainError {
  constructor(message: string, details?: ErrorDetail[]) {
    super('unprocessable', message, details);
  }
}

export class UnavailableError extends DomainError {
  constructor(message: string, retryAfterSeconds?: number) {
    super('unavailable', message, undefined, retryAfterSeconds);
  }
}

/** Missing, malformed, expired, revoked or wrong credentials (401 with WWW-Authenticate). */
export class UnauthenticatedError extends DomainError {
  constructor(message: string) {
    super('unauthenticated', message);
  }
}

/** A valid credential whose role or model scope does not allow the operation (403). */
export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(message: string, retryAfterSeconds = 1) {
    super('too_many', message, undefined, retryAfterSeconds);
  }
}

/** The data folder is too full to accept the upload or submission (507). */
export class InsufficientStorageError extends DomainError {
  constructor(message: string) {
    super('insufficient_storage', message);
  }
}

export class TimeoutError extends DomainError {
  constructor(message: string) {
    super('timeout', message);
  }
}

export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media: 415,
  unprocessable: 422,
  too_many: 429,
  unavailable: 503,
  insufficient_storage: 507,
  timeout: 504,
};

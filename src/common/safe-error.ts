import { HttpException } from '@nestjs/common';
import { DomainError, ErrorKind, STATUS_BY_KIND } from './errors';

/**
 * Kinds finer than a domain error's HTTP kind, carried by the error classes that refine them
 * (see inference/engine-errors.ts), and `internal` for anything that is not a domain error.
 */
export const REFINED_ERROR_KINDS = ['inference_failed', 'output_too_large'] as const;
export type RefinedErrorKind = (typeof REFINED_ERROR_KINDS)[number];
export type SafeErrorKind = ErrorKind | RefinedErrorKind | 'internal';

/** Every kind a stored or shown error may have (the `ErrorKind` enum of the OpenAPI document). */
export const SAFE_ERROR_KINDS: readonly SafeErrorKind[] = [
  ...(Object.keys(STATUS_BY_KIND) as ErrorKind[]),
  ...REFINED_ERROR_KINDS,
  'internal',
];

/** What clients see of a failure, and what is stored for them: a stable kind and a safe message. */
export interface SafeError {
  kind: SafeErrorKind;
  message: string;
}

/** A domain error with a finer kind, and text for the server log that clients never see. */
export interface RefinedError {
  readonly refinedKind: RefinedErrorKind;
  /** The raw text behind the error (ONNX Runtime's message, say), for the server log only. */
  readonly internal?: string;
}

/** Longest stored or shown message; domain messages are far shorter. */
const MAX_MESSAGE_CHARS = 2000;

function isRefined(error: DomainError): error is DomainError & RefinedError {
  return typeof (error as Partial<RefinedError>).refinedKind === 'string';
}

const KIND_BY_STATUS = new Map(Object.entries(STATUS_BY_KIND).map(([kind, status]) => [status, kind as ErrorKind]));

/**
 * The client-safe form of any error. Domain errors keep their kind (or refined kind) and their
 * message, which services write for clients, as do Nest's 4xx exceptions (validation); anything
 * else is `internal`, with a message that points to the server log under `reference`
 * ("request id …" or "job id …").
 */
export function toSafeError(error: unknown, reference: string): SafeError {
  if (error instanceof DomainError) {
    return {
      kind: isRefined(error) ? error.refinedKind : error.kind,
      message: error.message.slice(0, MAX_MESSAGE_CHARS),
    };
  }
  if (error instanceof HttpException && error.getStatus() < 500) {
    return {
      kind: KIND_BY_STATUS.get(error.getStatus()) ?? 'invalid',
      message: error.message.slice(0, MAX_MESSAGE_CHARS),
    };
  }
  return { kind: 'internal', message: `Internal error; the server log has the details under ${reference}` };
}

/**
 * What the server log should keep of an error that clients see only in its safe form, or
 * undefined when the safe form hides nothing.
 */
export function internalDetail(error: unknown): string | undefined {
  if (error instanceof DomainError) return isRefined(error) ? error.internal : undefined;
  if (error instanceof HttpException && error.getStatus() < 500) return undefined;
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}

import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, ErrorDetail, STATUS_BY_KIND } from './errors';
import { isInferenceProtocolPath } from './inference-protocol-path';
import { requestIdOf } from './request-id';

interface Mapped {
  status: number;
  message: string;
  details?: ErrorDetail[];
  retryAfterSeconds?: number;
}

/** Longest `message` in an error body, whatever the input that caused it. */
export const MAX_ERROR_MESSAGE_CHARS = 2048;
/** Most entries in `details`, and the longest field and problem text of one. */
const MAX_DETAILS = 50;
const MAX_DETAIL_FIELD_CHARS = 200;
const MAX_DETAIL_PROBLEM_CHARS = 500;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Bounds an error body: messages and details may quote client input, which can be arbitrarily large. */
function bounded(mapped: Mapped): Mapped {
  const details = mapped.details?.slice(0, MAX_DETAILS).map((d) => ({
    field: cut(String(d.field), MAX_DETAIL_FIELD_CHARS),
    problem: cut(String(d.problem), MAX_DETAIL_PROBLEM_CHARS),
  }));
  if (details && mapped.details!.length > MAX_DETAILS) {
    details.push({ field: '…', problem: `${mapped.details!.length - MAX_DETAILS} more problems not shown` });
  }
  return { ...mapped, message: cut(mapped.message, MAX_ERROR_MESSAGE_CHARS), details };
}

/** Errors raised by body-parser and other http-errors based middleware. */
interface MiddlewareError {
  type?: string;
  status?: number;
  expose?: boolean;
  message?: string;
  limit?: number;
}

function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  if (!name) return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

function fromHttpException(error: HttpException): Mapped {
  // The Express adapter wraps body-parser errors; their `type` gives the precise reason.
  const cause = error.cause as MiddlewareError | undefined;
  const fromCause = cause && typeof cause === 'object' && cause.type ? fromMiddleware(cause) : undefined;
  if (fromCause) return fromCause;
  const status = error.getStatus();
  const body = error.getResponse();
  if (typeof body === 'string') return { status, message: body };
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return { status, message: message.join('; ') };
  return { status, message: typeof message === 'string' ? message : error.message };
}

function fromMiddleware(error: MiddlewareError): Mapped | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return { status: 400, message: `Malformed JSON body: ${error.message ?? 'cannot parse'}` };
    case 'entity.too.large':
      return { status: 413, message: `Request body exceeds the limit of ${error.limit ?? '?'} bytes` };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, message: error.message ?? 'Unsupported content encoding' };
    case 'request.aborted':
      return { status: 400, message: 'Request aborted by the client' };
    default:
      if (error.expose && error.status && error.status >= 400 && error.status < 500) {
        return { status: error.status, message: error.message ?? 'Bad request' };
      }
      return undefined;
  }
}

export interface ExceptionFilterOptions {
  /** The message of a 404 for a path no route serves (a worker names its role); Nest's own otherwise. */
  routeNotFound?: string;
}

/** The one place errors become HTTP: the body of docs/api.md ("Errors") plus the request id. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly options: ExceptionFilterOptions = {}) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const mapped = bounded(this.map(exception));
    const requestId = requestIdOf(req);

    if (mapped.status >= 500 && ![503, 504, 507].includes(mapped.status)) {
      const err = exception instanceof Error ? { message: exception.message, stack: exception.stack } : exception;
      this.logger.error({ msg: 'Unhandled error', requestId, err });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (mapped.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(mapped.retryAfterSeconds));
    if (mapped.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="modelforge"');
    if (isInferenceProtocolPath(req.path)) {
      // The Open Inference Protocol's clients decode exactly this body; the id is in X-Request-Id.
      res.status(mapped.status).json({ error: mapped.message });
      return;
    }
    res.status(mapped.status).json({
      statusCode: mapped.status,
      error: reasonPhrase(mapped.status),
      message: mapped.message,
      requestId,
      ...(mapped.details ? { details: mapped.details } : {}),
    });
  }

  private map(exception: unknown): Mapped {
    if (exception instanceof DomainError) {
      return {
        status: STATUS_BY_KIND[exception.kind],
        message: exception.message,
        details: exception.details,
        retryAfterSeconds: exception.retryAfterSeconds,
      };
    }
    if (exception instanceof HttpException) {
      // Services throw domain errors, so a bare 404 HttpException is the router's: no route here.
      if (exception.getStatus() === 404 && this.options.routeNotFound) {
        return { status: 404, message: this.options.routeNotFound };
      }
      return fromHttpException(exception);
    }
    if (exception && typeof exception === 'object') {
      const mapped = fromMiddleware(exception as MiddlewareError);
      if (mapped) return mapped;
    }
    return { status: 500, message: 'Internal server error; the request id identifies it in the logs' };
  }
}

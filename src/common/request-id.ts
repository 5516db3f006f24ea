import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';

export const REQUEST_ID_HEADER = 'X-Request-Id';
const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestWithId extends Request {
  id: string;
  /** process.hrtime.bigint() when the request reached the application. */
  startedAt: bigint;
}

/**
 * The request id: a well-formed client X-Request-Id, else a new UUID, set on every response.
 * pino-http calls it once, as the request arrives (src/logging/http-logger.ts), which also makes
 * it the moment the request's timings start from.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdFrom(req.headers[REQUEST_ID_HEADER.toLowerCase()]);
  (req as RequestWithId).startedAt = process.hrtime.bigint();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** A client's request id (an X-Request-Id header, gRPC `x-request-id` metadata) if well-formed, else a new UUID. */
export function requestIdFrom(incoming: unknown): string {
  return typeof incoming === 'string' && ACCEPTABLE.test(incoming) ? incoming : randomUUID();
}

export function requestIdOf(req: Request): string {
  return (req as Partial<RequestWithId>).id ?? 'unknown';
}

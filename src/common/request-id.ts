import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_ID_HEADER = 'X-Request-Id';
const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestWithId extends Request {
  id: string;
  startedAt: bigint;
}

/** Echoes a well-formed client X-Request-Id or generates one; sets it on every response. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.header(REQUEST_ID_HEADER);
  const id = incoming && ACCEPTABLE.test(incoming) ? incoming : randomUUID();
  const request = req as RequestWithId;
  request.id = id;
  request.startedAt = process.hrtime.bigint();
  res.setHeader(REQUEST_ID_HEADER, id);
  next();
}

export function requestIdOf(req: Request): string {
  return (req as Partial<RequestWithId>).id ?? 'unknown';
}

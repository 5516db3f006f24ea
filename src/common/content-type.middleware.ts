import type { NextFunction, Request, Response } from 'express';
import { DomainError } from './errors';

const ACCEPTED = ['application/json', 'multipart/form-data', 'application/x-ndjson', 'application/octet-stream'];

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A request body in a type no route reads is refused with 415 instead of being silently ignored. */
export function contentTypeMiddleware(req: Request, _res: Response, next: NextFunction): void {
  if (!hasBody(req) || ['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(req.method)) return next();
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (ACCEPTED.includes(type) || type.endsWith('+json')) return next();
  next(
    new DomainError(
      'unsupported_media',
      `Content-Type '${type || '(none)'}' is not accepted; send application/json (or multipart/form-data for uploads)`,
    ),
  );
}

import type { NextFunction, Request, Response } from 'express';
import { DomainError } from './errors';
import { isInferenceProtocolPath } from './inference-protocol-path';

const ACCEPTED = ['application/json', 'multipart/form-data', 'application/x-ndjson', 'application/octet-stream'];

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * A request body in a type no route reads is refused with 415 instead of being silently ignored.
 * Open Inference Protocol clients post bodies with no Content-Type (Triton's Python client) or
 * with whatever their HTTP library sets (curl -d: a form type): under /v2 the protocol alone says
 * how a body reads (JSON, unless Inference-Header-Content-Length), whatever its media type.
 */
export function contentTypeMiddleware(req: Request, _res: Response, next: NextFunction): void {
  if (!hasBody(req) || ['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(req.method)) return next();
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (ACCEPTED.includes(type) || type.endsWith('+json') || isInferenceProtocolPath(req.path)) return next();
  next(
    new DomainError(
      'unsupported_media',
      `Content-Type '${type || '(none)'}' is not accepted; send application/json (or multipart/form-data for uploads)`,
    ),
  );
}

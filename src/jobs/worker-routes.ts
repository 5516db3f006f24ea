import type { NextFunction, Request, Response } from 'express';
import { NotFoundError } from '../common/errors';

const WORKER_PATHS = /^\/(health(\/|$)|metrics(\/|$|\?))/;

/**
 * APP_ROLE=worker: the process consumes jobs and answers only its probes (/health/*) and /metrics
 * (its own instances per second, which no other process can report). Every other route is 404,
 * so a worker put behind a load balancer by mistake serves no API.
 */
export function workerRoutesOnly(req: Request, _res: Response, next: NextFunction): void {
  if (WORKER_PATHS.test(req.path)) return next();
  next(new NotFoundError(`This process runs with APP_ROLE=worker: it serves only /health/* and /metrics`));
}

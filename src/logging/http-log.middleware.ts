import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { RequestWithId } from '../common/request-id';

/**
 * One structured line per request: id, method, route pattern, status and duration. Bodies,
 * query strings and headers are never logged (they may hold inputs or credentials).
 */
export function httpLogMiddleware(logger: Logger) {
  const log = logger.child({ context: 'HTTP' });
  return (req: Request, res: Response, next: NextFunction): void => {
    const request = req as RequestWithId;
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - request.startedAt) / 1e6;
      const route = (req.route as { path?: string } | undefined)?.path;
      const status = res.statusCode;
      // Probes hit /health every few seconds; their successes are noise at info.
      const quiet = status < 400 && req.path.startsWith('/health/');
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : quiet ? 'debug' : 'info';
      log[level](
        {
          requestId: request.id,
          method: req.method,
          route: route ? `${req.baseUrl}${route}` : undefined,
          path: req.path,
          status,
          durationMs: Math.round(durationMs * 100) / 100,
        },
        'request completed',
      );
    });
    next();
  };
}

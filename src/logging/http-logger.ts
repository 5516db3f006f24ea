import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { Level, Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { assignRequestId, RequestWithId } from '../common/request-id';

/** The fields of the one line per request. */
function requestLine(req: IncomingMessage, res: ServerResponse): Record<string, unknown> {
  const request = req as RequestWithId;
  const route = (request.route as { path?: string } | undefined)?.path;
  const durationMs = Number(process.hrtime.bigint() - request.startedAt) / 1e6;
  return {
    method: request.method,
    route: route ? `${request.baseUrl}${route}` : undefined,
    path: request.path,
    status: res.statusCode,
    durationMs: Math.round(durationMs * 100) / 100,
  };
}

function levelOf(req: IncomingMessage, res: ServerResponse): Level {
  const status = res.statusCode;
  // Probes hit /health every few seconds; their successes are noise at info.
  const quiet = status < 400 && (req as Request).path.startsWith('/health/');
  return status >= 500 ? 'error' : status >= 400 ? 'warn' : quiet ? 'debug' : 'info';
}

const message = (_req: IncomingMessage, res: ServerResponse) =>
  res.writableEnded ? 'request completed' : 'request aborted';

/**
 * pino-http, first middleware of the app: gives each request its id (X-Request-Id, see
 * assignRequestId) and writes one structured line per request when it ends: requestId, method,
 * route pattern, path, status and duration. Bodies, query strings and headers are never logged
 * (they may hold inputs or credentials): the request and response objects are left out.
 */
export function httpLogger(root: Logger) {
  return pinoHttp({
    logger: root.child({ context: 'HTTP' }),
    genReqId: assignRequestId,
    customAttributeKeys: { reqId: 'requestId' },
    quietReqLogger: true,
    quietResLogger: true,
    // pino-http binds the request to a child logger on every request even when it is quiet: with
    // these serializers the binding is empty (the default would serialize the headers each time).
    wrapSerializers: false,
    serializers: { req: () => undefined, res: () => undefined },
    customLogLevel: levelOf,
    customSuccessObject: requestLine,
    customSuccessMessage: message,
    // A 5xx gets the same line at error level; the exception filter logs the error itself.
    customErrorObject: requestLine,
    customErrorMessage: message,
  });
}

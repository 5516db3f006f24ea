import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { InvalidInputError } from './errors';
import { isInferenceProtocolPath } from './inference-protocol-path';
import { STATUS_CODES } from 'node:http';
import { REQUEST_ID_HEADER } from './request-id';

/** The error body, or the Open Inference Protocol's `{"error"}` for a path under /v2. */
function errorBody(status: number, message: string, requestId: string, path: string | undefined): string {
  if (path !== undefined && isInferenceProtocolPath(path)) return JSON.stringify({ error: message });
  return JSON.stringify({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, requestId });
}

/**
 * The path of the request Node's parser gave up on: the one whose headers it had read on this
 * socket (a body cut short), else the request line in the raw bytes it refused.
 */
function pathOf(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): string | undefined {
  const current = currentPaths.get(socket);
  if (current !== undefined) return current;
  const line = error.rawPacket?.subarray(0, 2048).toString('latin1');
  return line ? /^[A-Z]+ (\/[^ ?\r\n]*)/.exec(line)?.[1] : undefined;
}

/** The path of the request each socket is reading (HTTP/1.1 reads one at a time). */
const currentPaths = new WeakMap<Duplex, string>();

/** What Node's HTTP parser refused, as the status and message a client should see. */
function describe(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'The request headers are too large (16 KiB at most)' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'The request was not received in time' };
    default:
      return { status: 400, message: 'Malformed HTTP request (framing or headers)' };
  }
}

/**
 * Requests that Node's HTTP server refuses before the application sees them (broken framing,
 * oversized headers, an `Expect` it cannot meet) get the same error body as every other error,
 * with a request id, instead of Node's empty answer.
 */
export function installProtocolErrorBodies(server: Server): void {
  // Node answers an HTTP/1.1 request without Host with an empty 400 and no event; requireHost does it instead.
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    currentPaths.set(req.socket, req.url?.split('?')[0] ?? '');
    res.once('finish', () => currentPaths.delete(req.socket));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, message } = describe(error.code);
    const requestId = randomUUID();
    const body = errorBody(status, message, requestId, pathOf(error, socket));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const expect = String(req.headers.expect ?? '').slice(0, 40);
    res.writeHead(417, {
      'Content-Type': 'application/json; charset=utf-8',
      [REQUEST_ID_HEADER]: requestId,
      Connection: 'close',
    });
    const path = req.url?.split('?')[0];
    res.end(errorBody(417, `Expect: '${expect}' is not supported; only 100-continue is`, requestId, path));
  });
}

/** HTTP/1.1 requires a Host header (RFC 9112, 3.2): its absence is a 400 with the error body. */
export function requireHost(req: Request, _res: Response, next: NextFunction): void {
  if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
    next(new InvalidInputError('An HTTP/1.1 request must carry a Host header'));
    return;
  }
  next();
}

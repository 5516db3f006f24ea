/**
 * HTTP/1.1 over a raw socket, one connection per request: the fuzzer controls every byte of the
 * request (broken framing, odd header bytes, paths no HTTP client would send) and reads the answer
 * with a small response parser.
 */
import * as net from 'node:net';

export interface WireRequest {
  method: string;
  /** Request target exactly as sent. */
  target: string;
  headers: Array<[string, string]>;
  body?: Uint8Array;
  framing: 'content-length' | 'chunked' | 'as-headers';
  halfClose?: boolean;
  omitHost?: boolean;
}

export interface WireResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
}

export type WireOutcome =
  | { kind: 'response'; response: WireResponse; ms: number }
  /** The server closed or reset the connection without a complete answer. */
  | { kind: 'no-response'; reason: string; ms: number }
  | { kind: 'timeout'; ms: number };

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The bytes of the request, as they go on the wire. */
export function encodeRequest(host: string, request: WireRequest): Buffer {
  const lines = [`${request.method} ${request.target} HTTP/1.1`];
  if (!request.omitHost) lines.push(`Host: ${host}`);
  lines.push('Connection: close');
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  const body = Buffer.from(request.body ?? []);
  let payload: Buffer = body;
  if (request.framing === 'content-length' && (body.length > 0 || BODY_METHODS.has(request.method))) {
    lines.push(`Content-Length: ${body.length}`);
  } else if (request.framing === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    payload = chunked(body);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), payload]);
}

/** A body in up to three chunks (chunk boundaries inside the body), then the last chunk. */
function chunked(body: Buffer): Buffer {
  const cuts = [0, Math.floor(body.length / 3), Math.floor((2 * body.length) / 3), body.length];
  const parts: Buffer[] = [];
  for (let i = 0; i < cuts.length - 1; i++) {
    const piece = body.subarray(cuts[i], cuts[i + 1]);
    if (piece.length > 0) parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Sends one request on a fresh connection and reads the first final (non-1xx) response. */
export function send(port: number, request: WireRequest, timeoutMs: number): Promise<WireOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (outcome: WireOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', ms: elapsed() }), timeoutMs);
    const tryParse = (atEnd: boolean) => {
      const parsed = parseResponse(Buffer.concat(chunks), request.method, atEnd);
      if (parsed) finish({ kind: 'response', response: parsed, ms: elapsed() });
      else if (atEnd) finish({ kind: 'no-response', reason: describeBytes(Buffer.concat(chunks)), ms: elapsed() });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('close', () => tryParse(true));
    // A reset after the server answered (it closed while we still wrote) keeps the answer.
    socket.on('error', () => tryParse(true));
    socket.on('connect', () => {
      socket.write(encodeRequest(`127.0.0.1:${port}`, request));
      if (request.halfClose) socket.end();
    });
  });
}

function describeBytes(bytes: Buffer): string {
  return bytes.length === 0
    ? 'connection closed with no bytes'
    : `incomplete answer: ${bytes.subarray(0, 200).toString('latin1')}`;
}

/**
 * Parses the first final response in `bytes`, or returns undefined while it is incomplete.
 * At the end of the stream a body without a length runs to the end.
 */
export function parseResponse(bytes: Buffer, method: string, atEnd: boolean): WireResponse | undefined {
  let offset = 0;
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', offset);
    if (headEnd === -1) return undefined;
    const lines = bytes.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!match) return undefined;
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const bodyStart = headEnd + 4;
    if (status >= 100 && status < 200) {
      offset = bodyStart; // 100 Continue: the real answer follows
      continue;
    }
    if (method === 'HEAD' || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
    const rest = bytes.subarray(bodyStart);
    if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      const body = dechunk(rest);
      return body ? { status, headers, body } : undefined;
    }
    const length = headers['content-length'];
    if (length !== undefined) {
      const n = Number(length);
      return rest.length >= n ? { status, headers, body: rest.subarray(0, n) } : undefined;
    }
    return atEnd ? { status, headers, body: rest } : undefined;
  }
}

function dechunk(bytes: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd === -1) return undefined;
    const size = parseInt(bytes.subarray(offset, lineEnd).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) return undefined;
    const start = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    if (bytes.length < start + size + 2) return undefined;
    parts.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}

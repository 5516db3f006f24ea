import { createHash, Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DomainError, InvalidInputError, PayloadTooLargeError, UnavailableError } from './errors';
import { checkJsonDepth } from './json-depth';

/** Retry-After, in seconds, when the in-flight body budget is spent. */
const BUDGET_RETRY_AFTER_SECONDS = 1;

/**
 * Request body bytes held in memory by all requests of the process at once
 * (MAX_INFLIGHT_BODY_BYTES). A request reserves what it announces (Content-Length) before one
 * byte is read, or what arrives when it is chunked, and gives it back when its response ends.
 */
export class BodyBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  get inUse(): number {
    return this.used;
  }

  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

export interface BodyReaderOptions {
  /** Largest body accepted; 413 past it (named by `limitName`). */
  limit: number;
  limitName: string;
  budget: BodyBudget;
  /** 'json': parsed here (small registry bodies); 'raw': kept as a Buffer for a worker to parse. */
  mode: 'json' | 'raw';
  /** Hash the raw bytes as they arrive (the prediction cache's raw key), unless the client bypasses the cache. */
  sha256?: (req: Request) => boolean;
  /** Media types read (`''`: no Content-Type); JSON types when not given. Others are left as the stream. */
  reads?: (mediaType: string) => boolean;
  /**
   * Accept `Content-Encoding: gzip` or `deflate`: the body is inflated as it arrives, and `limit`
   * and the in-flight budget count the inflated bytes (a small bomb stops at the limit).
   */
  inflate?: boolean;
}

/** A request after a body reader ran: `body` is the parsed JSON or the raw bytes. */
export interface RequestWithRawBody extends Request {
  rawBodySha256?: string;
}

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

export function isJsonType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function declaredLength(req: Request): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  return /^\d{1,16}$/.test(header) ? Number(header) : undefined;
}

const INFLATED_ENCODINGS = ['gzip', 'x-gzip', 'deflate'];

function contentEncoding(req: Request): string {
  return (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
}

function checkEncoding(req: Request, inflate: boolean): void {
  const encoding = contentEncoding(req);
  if (encoding !== 'identity' && !(inflate && INFLATED_ENCODINGS.includes(encoding))) {
    throw new DomainError(
      'unsupported_media',
      `Content-Encoding '${encoding.slice(0, 40)}' is not accepted; send the body uncompressed` +
        (inflate ? ' or as gzip or deflate' : ''),
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new DomainError(
      'unsupported_media',
      `charset '${charset.slice(0, 40)}' is not accepted; JSON bodies are UTF-8`,
    );
  }
}

/**
 * Reads a JSON request body for the one route family it is mounted on, with a size limit and
 * under the process's in-flight budget, without blocking the event loop: bytes are copied into
 * one buffer as they arrive (and hashed chunk by chunk when asked), never parsed here unless the
 * route's bodies are small (`mode: 'json'`, with a nesting bound checked before JSON.parse).
 * Bodies of other media types (multipart, NDJSON) are left as the untouched stream.
 */
export function bodyReader(options: BodyReaderOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const reads = options.reads ?? isJsonType;
    if (!reads(mediaType(req)) || (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH')) {
      next();
      return;
    }
    try {
      checkEncoding(req, options.inflate ?? false);
    } catch (error) {
      next(error);
      return;
    }
    readInto(req, res, options).then(
      () => next(),
      (error: unknown) => next(error),
    );
  };
}

/** Bytes one request holds of the budget; everything goes back when its response closes. */
class Reservation {
  private bytes = 0;
  private closed = false;

  constructor(private readonly budget: BodyBudget) {}

  get held(): number {
    return this.bytes;
  }

  add(bytes: number): void {
    if (this.closed) throw new InvalidInputError('Request aborted by the client');
    if (!this.budget.tryReserve(bytes)) {
      throw new UnavailableError(
        'The server is receiving too many request bodies at once (MAX_INFLIGHT_BODY_BYTES); retry shortly',
        BUDGET_RETRY_AFTER_SECONDS,
      );
    }
    this.bytes += bytes;
  }

  releaseAll(): void {
    this.closed = true;
    this.budget.release(this.bytes);
    this.bytes = 0;
  }
}

async function readInto(req: RequestWithRawBody, res: Response, options: BodyReaderOptions): Promise<void> {
  const { limit, limitName } = options;
  const encoding = contentEncoding(req);
  // An inflated body's length is only known at its end; Content-Length counts compressed bytes.
  const inflater = encoding === 'identity' ? undefined : encoding === 'deflate' ? createInflate() : createGunzip();
  const declared = inflater ? undefined : declaredLength(req);
  try {
    if (declared !== undefined && declared > limit) throw tooLarge(limitName, limit);
    const reservation = new Reservation(options.budget);
    res.once('close', () => reservation.releaseAll());
    if (declared !== undefined) reservation.add(declared);
    const source = inflater ? req.pipe(inflater) : req;
    const body = await collect(req, source, reservation, limit, limitName, declared, options.sha256?.(req) ?? false);
    if (options.mode === 'raw') req.body = body;
    else req.body = parseJson(body);
  } catch (error) {
    // Refused before the end: the rest is discarded as it arrives, so that a client still sending
    // reads the answer (closing at once makes HTTP clients fail with EPIPE instead). A body
    // announced over the limit is not worth draining: that connection closes after the answer.
    if (inflater) {
      req.unpipe(inflater);
      inflater.destroy();
    }
    if (!req.complete) {
      if (declared !== undefined && declared > limit) res.setHeader('Connection', 'close');
      req.resume();
    }
    throw error;
  }
}

async function collect(
  req: RequestWithRawBody,
  source: Readable,
  reservation: Reservation,
  limit: number,
  limitName: string,
  declared: number | undefined,
  sha256: boolean,
): Promise<Buffer> {
  const hash: Hash | undefined = sha256 ? createHash('sha256') : undefined;
  // With a Content-Length, bytes are copied into one buffer of their own as they arrive (a body
  // never costs one long copy at the end, and the buffer can move to a worker without a copy).
  const whole = declared !== undefined ? Buffer.allocUnsafeSlow(declared) : undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > limit) throw tooLarge(limitName, limit);
      if (declared !== undefined && received > declared) {
        throw new InvalidInputError('The body is longer than its Content-Length');
      }
      if (received > reservation.held) reservation.add(received - reservation.held);
      hash?.update(chunk);
      if (whole) chunk.copy(whole, received - chunk.length);
      else chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof DomainError) throw error;
    if (source !== req && req.complete) {
      throw new InvalidInputError(`The ${contentEncoding(req)} body cannot be inflated: it is corrupt or truncated`);
    }
    throw new InvalidInputError('Request aborted by the client');
  }
  if (!req.complete) throw new InvalidInputError('Request aborted by the client');
  if (hash) req.rawBodySha256 = hash.digest('hex');
  if (whole) return received === whole.length ? whole : whole.subarray(0, received);
  return Buffer.concat(chunks, received);
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  checkJsonDepth(body);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new InvalidInputError(`Malformed JSON body: ${(error as Error).message.slice(0, 200)}`);
  }
}

function tooLarge(limitName: string, limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`Request body exceeds the limit of ${limit} bytes (${limitName})`);
}

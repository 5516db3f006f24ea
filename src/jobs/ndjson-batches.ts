import type { Readable } from 'node:stream';
import { PayloadTooLargeError } from '../common/errors';

/** Whole lines of an NDJSON upload, as sent; only the last batch may lack its final newline. */
export interface LineBatch {
  /** Fills its own ArrayBuffer, so it can move to a worker without a copy. */
  bytes: Uint8Array;
  lines: number;
}

export interface LineBatchLimits {
  /** MAX_JSON_BODY_BYTES: the longest line. */
  maxLineBytes: number;
  /** JOBS_MAX_SUBMISSION_BYTES: every byte of the upload, counted as it arrives. */
  maxTotalBytes: number;
  /** A batch is cut at the first line end past this many bytes or lines. */
  batchBytes: number;
  batchLines: number;
}

export function submissionTooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `The submission exceeds JOBS_MAX_SUBMISSION_BYTES (${maxBytes} bytes); split it into several jobs`,
  );
}

function lineTooLong(maxLineBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`A line of the NDJSON upload exceeds MAX_JSON_BODY_BYTES (${maxLineBytes} bytes)`);
}

/** The first `length` bytes of the parts, copied into an ArrayBuffer of their own, and the rest. */
function take(parts: Buffer[], length: number): { head: Uint8Array; rest: Buffer[] } {
  const head = new Uint8Array(new ArrayBuffer(length));
  const rest: Buffer[] = [];
  let at = 0;
  for (const part of parts) {
    const n = Math.min(part.length, length - at);
    if (n > 0) head.set(part.subarray(0, n), at);
    at += n;
    if (n < part.length) rest.push(part.subarray(n));
  }
  return { head, rest };
}

/**
 * Cuts an upload into batches of whole lines as it arrives, without parsing anything: an inference
 * worker parses each batch, and a batch of many small lines costs one message, not one per line.
 * A line longer than `maxLineBytes`, or more than `maxTotalBytes` in all, stops the upload with
 * 413 before more is read.
 */
export async function* readLineBatches(stream: Readable, limits: LineBatchLimits): AsyncIterable<LineBatch> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Complete lines in `pending`, and the bytes of the unfinished one at its end. */
  let pendingLines = 0;
  let partialBytes = 0;
  let total = 0;
  // Not destroyed when we stop early: the caller drains the rest so the client gets the answer.
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limits.maxTotalBytes) throw submissionTooLarge(limits.maxTotalBytes);
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (partialBytes + nl - start > limits.maxLineBytes) throw lineTooLong(limits.maxLineBytes);
      partialBytes = 0;
      pendingLines++;
      start = nl + 1;
    }
    partialBytes += chunk.length - start;
    if (partialBytes > limits.maxLineBytes) throw lineTooLong(limits.maxLineBytes);
    pending.push(chunk);
    pendingBytes += chunk.length;
    const whole = pendingBytes - partialBytes;
    if (pendingLines > 0 && (whole >= limits.batchBytes || pendingLines >= limits.batchLines)) {
      const { head, rest } = take(pending, whole);
      pending = rest;
      pendingBytes = partialBytes;
      const lines = pendingLines;
      pendingLines = 0;
      yield { bytes: head, lines };
    }
  }
  if (pendingBytes > 0) {
    yield { bytes: take(pending, pendingBytes).head, lines: pendingLines + (partialBytes > 0 ? 1 : 0) };
  }
}

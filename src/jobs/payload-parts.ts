/**
 * How large payloads of a job are cut for storage (migration JobPayloadParts): instance data in
 * parts of PART_BYTES bytes, result outputs in parts of about PART_CHARS characters. Part 0 stays
 * in the instance or result row; parts 1 and up go to job_instance_parts / job_result_parts.
 * No statement then carries more than about a megabyte: on SQLite every statement runs on the
 * HTTP thread, and one 16 MB statement held it for tens of milliseconds (hundreds on a busy host).
 */

/** Bytes of instance data in one stored part. */
export const PART_BYTES = 1024 * 1024;
/** Characters of result JSON in one stored part (one fewer where a pair of surrogates would be cut). */
export const PART_CHARS = 1024 * 1024;
/**
 * Payload bytes one write transaction (or one read query) carries at most, give or take one part:
 * on SQLite, writes go in transactions of this size with a turn of the event loop between them.
 */
export const BATCH_BYTES = 1024 * 1024;

/** The data in parts of `size` bytes, as views (no copy); one empty part for empty data. */
export function splitBytes(data: Buffer, size = PART_BYTES): Buffer[] {
  if (data.byteLength <= size) return [data];
  const parts: Buffer[] = [];
  for (let at = 0; at < data.byteLength; at += size)
    parts.push(data.subarray(at, Math.min(at + size, data.byteLength)));
  return parts;
}

/** The text in parts of `size` characters, never cutting a surrogate pair (each part is valid UTF-16). */
export function splitText(text: string, size = PART_CHARS): string[] {
  if (text.length <= size) return [text];
  const parts: string[] = [];
  for (let at = 0; at < text.length;) {
    let end = Math.min(at + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && end - at > 1 && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(text.slice(at, end));
    at = end;
  }
  return parts;
}

/** A turn of the event loop: I/O callbacks and timers (a liveness probe) run before what follows. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

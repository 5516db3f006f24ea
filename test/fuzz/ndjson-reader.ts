/**
 * The one place the NDJSON property tests touch the job reader's API: bytes in (as chunks),
 * lines or instances out, read the way JobSubmissionService reads an upload (batches of whole
 * lines, each parsed with the numbering of its first line and instance).
 */
import { Readable } from 'node:stream';
import { LineBatch, readLineBatches } from '../../src/jobs/ndjson-batches';
import { fromNdjsonBatch, RawInstance } from '../../src/jobs/submission-source';

/** Small batches, so a few lines already span several. */
const BATCH = { batchBytes: 16, batchLines: 3, maxTotalBytes: 1 << 30 };

async function* batchesOf(chunks: readonly Uint8Array[], maxLineBytes: number): AsyncIterable<LineBatch> {
  yield* readLineBatches(Readable.from(chunks.map((c) => Buffer.from(c))), { ...BATCH, maxLineBytes });
}

/** The lines of one batch; its `lines` count must say the same. */
function linesOf(batch: LineBatch): string[] {
  const text = Buffer.from(batch.bytes).toString('utf8');
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  if (lines.length !== batch.lines) throw new Error(`a batch of ${lines.length} lines says it holds ${batch.lines}`);
  return lines;
}

/** The lines of an upload as the service reads them (a line past `maxLineBytes` is a 413). */
export async function ndjsonLines(chunks: readonly Uint8Array[], maxLineBytes: number): Promise<string[]> {
  const lines: string[] = [];
  for await (const batch of batchesOf(chunks, maxLineBytes)) lines.push(...linesOf(batch));
  return lines;
}

/** The instances of an upload, numbered across batches, or the domain error that stops it. */
export async function ndjsonInstances(chunks: readonly Uint8Array[], maxLineBytes: number): Promise<RawInstance[]> {
  const instances: RawInstance[] = [];
  let nextLine = 1;
  for await (const batch of batchesOf(chunks, maxLineBytes)) {
    instances.push(...fromNdjsonBatch(batch.bytes, nextLine, instances.length));
    nextLine += batch.lines;
  }
  return instances;
}

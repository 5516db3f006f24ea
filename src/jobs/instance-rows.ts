import type { DataSource, EntityManager } from 'typeorm';
import type { StoredInstance } from './instance-codec';
import { BATCH_BYTES, PART_BYTES, splitBytes, yieldToEventLoop } from './payload-parts';

const INSTANCES = 'job_instances';
const PARTS = 'job_instance_parts';
/** Rows per INSERT. */
const INSERT_ROWS = 200;
/** Rows the first page of a read asks for; later pages are sized from the bytes rows had so far. */
const FIRST_PAGE_ROWS = 1;
const MAX_PAGE_ROWS = 1024;

/** Stored instances ready to insert: rows (part 0 of each) and further parts, about BATCH_BYTES. */
export interface InstanceBatch {
  rows: { job_id: string; idx: number; header: string; data: Buffer }[];
  parts: { job_id: string; idx: number; part: number; data: Buffer }[];
  bytes: number;
}

const emptyBatch = (): InstanceBatch => ({ rows: [], parts: [], bytes: 0 });

/**
 * Cuts a job's instances into rows and parts (payload-parts.ts) and hands them to `flush` in
 * batches of about BATCH_BYTES, numbering the instances from 0 in order.
 */
export async function batchInstances(
  jobId: string,
  instances: AsyncIterable<StoredInstance>,
  flush: (batch: InstanceBatch) => Promise<void>,
): Promise<void> {
  let batch = emptyBatch();
  const add = async (bytes: number, push: (into: InstanceBatch) => void) => {
    if (batch.bytes > 0 && batch.bytes + bytes > BATCH_BYTES) {
      await flush(batch);
      batch = emptyBatch();
    }
    push(batch);
    batch.bytes += bytes;
  };
  let idx = 0;
  for await (const { header, data } of instances) {
    const [first, ...more] = splitBytes(data);
    await add(header.length + first.byteLength, (b) => b.rows.push({ job_id: jobId, idx, header, data: first }));
    for (const [i, data] of more.entries()) {
      await add(data.byteLength, (b) => b.parts.push({ job_id: jobId, idx, part: i + 1, data }));
    }
    idx++;
  }
  if (batch.bytes > 0 || batch.rows.length > 0) await flush(batch);
}

/** Writes one batch from `batchInstances` with the given manager (inside its transaction). */
export async function insertInstanceBatch(manager: EntityManager, batch: InstanceBatch): Promise<void> {
  for (let i = 0; i < batch.rows.length; i += INSERT_ROWS) {
    await manager
      .createQueryBuilder()
      .insert()
      .into(INSTANCES, ['job_id', 'idx', 'header', 'data'])
      .values(batch.rows.slice(i, i + INSERT_ROWS))
      .execute();
  }
  if (batch.parts.length > 0) {
    await manager
      .createQueryBuilder()
      .insert()
      .into(PARTS, ['job_id', 'idx', 'part', 'data'])
      .values(batch.parts)
      .execute();
  }
}

/**
 * Stored instances with index in [from, to), in order, read about 1 MiB per query with a turn
 * of the event loop between queries; stops after the instance that brings the total to `maxBytes`
 * (so at least one is read, whatever its size).
 */
export async function readInstances(
  dataSource: DataSource,
  jobId: string,
  range: { from: number; to: number },
  maxBytes: number,
): Promise<(StoredInstance & { index: number })[]> {
  const read: (StoredInstance & { index: number })[] = [];
  let bytes = 0;
  let next = range.from;
  let pageRows = FIRST_PAGE_ROWS;
  while (next < range.to && bytes < maxBytes) {
    const rows = await dataSource
      .createQueryBuilder()
      .select('i.idx', 'idx')
      .addSelect('i.header', 'header')
      .addSelect('i.data', 'data')
      .from(INSTANCES, 'i')
      .where('i.job_id = :jobId AND i.idx >= :next AND i.idx < :to', { jobId, next, to: range.to })
      .orderBy('i.idx', 'ASC')
      .limit(pageRows)
      .getRawMany<{ idx: number | string; header: string; data: Buffer }>();
    if (rows.length === 0) break;
    let pageBytes = 0;
    for (const row of rows) {
      const index = Number(row.idx);
      // Only data that fills part 0 can continue in parts.
      const parts = row.data.byteLength === PART_BYTES ? await readParts(dataSource, jobId, index) : [];
      const data = parts.length > 0 ? Buffer.concat([row.data, ...parts]) : row.data;
      read.push({ index, header: row.header, data });
      bytes += row.header.length + data.byteLength;
      pageBytes += row.header.length + row.data.byteLength;
      next = index + 1;
      if (bytes >= maxBytes) break;
    }
    pageRows = Math.max(1, Math.min(MAX_PAGE_ROWS, Math.floor((BATCH_BYTES * rows.length) / Math.max(1, pageBytes))));
    await yieldToEventLoop();
  }
  return read;
}

/** Parts 1 and up of one instance, BATCH_BYTES per query. */
async function readParts(dataSource: DataSource, jobId: string, idx: number): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  const perQuery = Math.max(1, Math.floor(BATCH_BYTES / PART_BYTES));
  for (;;) {
    await yieldToEventLoop();
    const rows = await dataSource
      .createQueryBuilder()
      .select('p.data', 'data')
      .from(PARTS, 'p')
      .where('p.job_id = :jobId AND p.idx = :idx AND p.part > :after', { jobId, idx, after: parts.length })
      .orderBy('p.part', 'ASC')
      .limit(perQuery)
      .getRawMany<{ data: Buffer }>();
    parts.push(...rows.map((row) => row.data));
    if (rows.length < perQuery) return parts;
  }
}

import type { DataSource, EntityManager } from 'typeorm';
import type { InstanceOutcome } from './chunk-executor';
import { JobResultEntity } from './entities/job-result.entity';
import { BATCH_BYTES, splitText } from './payload-parts';

const PARTS = 'job_result_parts';
/** Rows per INSERT. */
const INSERT_ROWS = 200;

type ResultRow = Pick<JobResultEntity, 'jobId' | 'index' | 'outputs' | 'error' | 'errorKind'>;
type PartRow = { job_id: string; idx: number; part: number; outputs: string };

/** A chunk's outcomes as result rows (part 0 of each output) and further parts (payload-parts.ts). */
export function resultRows(jobId: string, outcomes: InstanceOutcome[]): { rows: ResultRow[]; parts: PartRow[] } {
  const rows: ResultRow[] = [];
  const parts: PartRow[] = [];
  for (const outcome of outcomes) {
    const pieces = outcome.outputs === undefined ? [] : splitText(outcome.outputs);
    rows.push({
      jobId,
      index: outcome.index,
      outputs: pieces[0] ?? null,
      error: outcome.error?.message ?? null,
      errorKind: outcome.error?.kind ?? null,
    });
    for (let part = 1; part < pieces.length; part++) {
      parts.push({ job_id: jobId, idx: outcome.index, part, outputs: pieces[part] });
    }
  }
  return { rows, parts };
}

/** Consecutive groups of `items` of about BATCH_BYTES each (one item alone may be larger). */
export function byBatchBytes<T>(items: readonly T[], bytesOf: (item: T) => number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (group.length > 0 && bytes + size > BATCH_BYTES) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export const rowBytes = (row: ResultRow) => (row.outputs?.length ?? 0) + (row.error?.length ?? 0);

/** Inserts result rows; the primary key (job_id, idx) makes a repeated row a no-op, not a duplicate. */
export async function insertResultRows(manager: EntityManager, rows: ResultRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_ROWS) {
    await manager
      .createQueryBuilder()
      .insert()
      .into(JobResultEntity)
      .values(rows.slice(i, i + INSERT_ROWS))
      .orIgnore()
      .execute();
  }
}

export async function insertResultParts(manager: EntityManager, parts: PartRow[]): Promise<void> {
  for (let i = 0; i < parts.length; i += INSERT_ROWS) {
    await manager
      .createQueryBuilder()
      .insert()
      .into(PARTS, ['job_id', 'idx', 'part', 'outputs'])
      .values(parts.slice(i, i + INSERT_ROWS))
      .execute();
  }
}

/** Removes parts of results in [from, to): what an attempt that failed before saving its rows left. */
export async function deleteResultParts(
  manager: EntityManager,
  jobId: string,
  from: number,
  to: number,
): Promise<void> {
  await manager
    .createQueryBuilder()
    .delete()
    .from(PARTS)
    .where('job_id = :jobId AND idx >= :from AND idx < :to', { jobId, from, to })
    .execute();
}

/** Joins their parts back to the outputs of `rows`, consecutive results of one job in index order. */
export async function withResultParts(dataSource: DataSource, rows: JobResultEntity[]): Promise<JobResultEntity[]> {
  if (rows.length === 0) return rows;
  const parts = await dataSource
    .createQueryBuilder()
    .select('p.idx', 'idx')
    .addSelect('p.outputs', 'outputs')
    .from(PARTS, 'p')
    .where('p.job_id = :jobId AND p.idx >= :from AND p.idx <= :to', {
      jobId: rows[0].jobId,
      from: rows[0].index,
      to: rows[rows.length - 1].index,
    })
    .orderBy('p.idx', 'ASC')
    .addOrderBy('p.part', 'ASC')
    .getRawMany<{ idx: number | string; outputs: string }>();
  if (parts.length === 0) return rows;
  const more = new Map<number, string[]>();
  for (const part of parts) {
    const list = more.get(Number(part.idx)) ?? [];
    list.push(part.outputs);
    more.set(Number(part.idx), list);
  }
  for (const row of rows) {
    const list = more.get(row.index);
    if (list && row.outputs !== null) row.outputs = row.outputs + list.join('');
  }
  return rows;
}

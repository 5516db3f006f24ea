import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { modelPatternsWhere } from '../auth/model-patterns';
import type { SafeError } from '../common/safe-error';
import { JobResultEntity } from './entities/job-result.entity';
import { FINISHED_STATUSES, JobEntity, JobStatus } from './entities/job.entity';
import type { InstanceOutcome } from './chunk-executor';
import type { StoredInstance } from './instance-codec';

/** Rows per INSERT, and bytes of instance data per INSERT, when a job is stored. */
const INSERT_ROWS = 200;
const INSERT_BYTES = 4 * 1024 * 1024;
/** Instances are rows of a header and raw bytes, whose column type differs per engine: no entity. */
const INSTANCES = 'job_instances';

export type NewJob = Pick<JobEntity, 'modelId' | 'modelVersionId' | 'modelName' | 'version' | 'total' | 'actor'>;

/** Which jobs a caller may see: only its own (`actor`), and only of models its patterns cover. */
export interface JobVisibility {
  /** Only jobs this credential made; null = anyone's. */
  actor: string | null;
  /** Model-name patterns; null = every model. */
  models: readonly string[] | null;
}

/** What a running attempt re-reads at each chunk boundary. */
export type JobControl = Pick<JobEntity, 'status' | 'cancelRequested' | 'lease' | 'done' | 'total'>;

export type CancelOutcome = 'cancelled' | 'requested' | 'finished' | 'missing';

/**
 * Every read and write of the jobs tables. Writes that belong to a running attempt carry its
 * lease: a worker that lost the job (its lock expired and another worker took over, or the job was
 * cancelled or deleted) finds that nothing matched and stops, so no chunk is saved twice.
 */
@Injectable()
export class JobStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get jobs() {
    return this.dataSource.getRepository(JobEntity);
  }

  /** The job row and all its instances, in one transaction. */
  async create(job: NewJob, instances: AsyncIterable<StoredInstance>): Promise<JobEntity> {
    return this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(
        manager.create(JobEntity, { ...job, status: 'queued', done: 0, attempts: 0, failures: 0 }),
      );
      let batch: { job_id: string; idx: number; header: string; data: Buffer }[] = [];
      let bytes = 0;
      let index = 0;
      const flush = async () => {
        if (batch.length > 0) {
          await manager
            .createQueryBuilder()
            .insert()
            .into(INSTANCES, ['job_id', 'idx', 'header', 'data'])
            .values(batch)
            .execute();
        }
        batch = [];
        bytes = 0;
      };
      for await (const { header, data } of instances) {
        batch.push({ job_id: saved.id, idx: index++, header, data });
        bytes += header.length + data.byteLength;
        if (batch.length >= INSERT_ROWS || bytes >= INSERT_BYTES) await flush();
      }
      await flush();
      return saved;
    });
  }

  find(id: string): Promise<JobEntity | null> {
    return this.jobs.findOneBy({ id });
  }

  /** Newest first, filtered in SQL (visibility included) so totals and paging stay right. */
  async list(
    filter: { status?: JobStatus; model?: string },
    visibility: JobVisibility,
    skip: number,
    take: number,
  ): Promise<[JobEntity[], number]> {
    const qb = this.jobs.createQueryBuilder('j');
    if (filter.status) qb.andWhere('j.status = :status', { status: filter.status });
    if (filter.model) qb.andWhere('j.model_name = :model', { model: filter.model });
    if (visibility.actor !== null) qb.andWhere('j.actor = :actor', { actor: visibility.actor });
    const scope = modelPatternsWhere('j.model_name', visibility.models);
    if (scope) qb.andWhere(scope.sql, scope.parameters);
    return qb.orderBy('j.createdAt', 'DESC').addOrderBy('j.id', 'ASC').skip(skip).take(take).getManyAndCount();
  }

  async results(id: string, skip: number, take: number): Promise<[JobResultEntity[], number]> {
    return this.dataSource
      .getRepository(JobResultEntity)
      .findAndCount({ where: { jobId: id }, order: { index: 'ASC' }, skip, take });
  }

  /** Ids of jobs a runner still owes work: queued or running, oldest first. */
  async unfinished(): Promise<string[]> {
    const rows = await this.jobs.find({
      select: { id: true },
      where: { status: In(['queued', 'running']) },
      order: { createdAt: 'ASC' },
    });
    return rows.map((r) => r.id);
  }

  /**
   * Takes the job for one attempt: a queued job, or a running one whose previous owner died.
   * Answers the new lease, or undefined when the job is gone, finished or cancelled.
   */
  async claim(id: string): Promise<string | undefined> {
    const lease = randomUUID();
    const now = new Date();
    const claimed = await this.jobs
      .createQueryBuilder()
      .update(JobEntity)
      .set({ status: 'running', lease, attempts: () => 'attempts + 1', updatedAt: now })
      .where('id = :id AND status IN (:...runnable)', { id, runnable: ['queued', 'running'] })
      .execute();
    if (claimed.affected !== 1) return undefined;
    await this.jobs
      .createQueryBuilder()
      .update(JobEntity)
      .set({ startedAt: now })
      .where('id = :id AND started_at IS NULL', { id })
      .execute();
    return lease;
  }

  async control(id: string): Promise<JobControl | null> {
    return this.jobs.findOne({
      select: { status: true, cancelRequested: true, lease: true, done: true, total: true },
      where: { id },
    });
  }

  /** Stored instances with index in [from, to), in order. */
  async instances(id: string, from: number, to: number): Promise<(StoredInstance & { index: number })[]> {
    const rows = await this.dataSource
      .createQueryBuilder()
      .select('i.idx', 'idx')
      .addSelect('i.header', 'header')
      .addSelect('i.data', 'data')
      .from(INSTANCES, 'i')
      .where('i.job_id = :id AND i.idx >= :from AND i.idx < :to', { id, from, to })
      .orderBy('i.idx', 'ASC')
      .getRawMany<{ idx: number | string; header: string; data: Buffer }>();
    return rows.map((row) => ({ index: Number(row.idx), header: row.header, data: row.data }));
  }

  /**
   * Saves a chunk's results and moves `done` from `from` to `from + results.length`, in one
   * transaction and only while `lease` still owns the job. False when it no longer does.
   */
  async saveChunk(id: string, lease: string, from: number, results: InstanceOutcome[]): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const moved = await this.owned(manager, id, lease)
        .set({ done: from + results.length, updatedAt: new Date() })
        .andWhere('done = :from', { from })
        .execute();
      if (moved.affected !== 1) return false;
      const rows = results.map((r) => ({
        jobId: id,
        index: r.index,
        outputs: r.outputs ?? null,
        error: r.error?.message ?? null,
        errorKind: r.error?.kind ?? null,
      }));
      for (let i = 0; i < rows.length; i += INSERT_ROWS) {
        // The primary key (job_id, idx) makes a repeated row a no-op rather than a duplicate.
        await manager
          .createQueryBuilder()
          .insert()
          .into(JobResultEntity)
          .values(rows.slice(i, i + INSERT_ROWS))
          .orIgnore()
          .execute();
      }
      return true;
    });
  }

  /** Ends the attempt in a final state (completed or cancelled). */
  async finish(id: string, lease: string, status: 'completed' | 'cancelled'): Promise<boolean> {
    const now = new Date();
    const result = await this.owned(this.dataSource.manager, id, lease)
      .set({ status, lease: null, error: null, errorKind: null, finishedAt: now, updatedAt: now })
      .execute();
    return result.affected === 1;
  }

  /** Gives the job back (shutdown): queued again, progress kept, no failure counted. */
  async release(id: string, lease: string): Promise<void> {
    await this.owned(this.dataSource.manager, id, lease)
      .set({ status: 'queued', lease: null, updatedAt: new Date() })
      .execute();
  }

  /**
   * Counts a failed attempt. Past `maxFailures` the job is failed for good; before that it waits
   * queued for its retry. Answers the failures so far, or undefined when the lease was lost.
   */
  async recordFailure(
    id: string,
    lease: string,
    error: SafeError,
    maxFailures: number,
  ): Promise<{ failures: number; final: boolean } | undefined> {
    const row = await this.jobs.findOne({ select: { failures: true, lease: true }, where: { id } });
    if (!row || row.lease !== lease) return undefined;
    const failures = row.failures + 1;
    const final = failures >= maxFailures;
    const now = new Date();
    await this.owned(this.dataSource.manager, id, lease)
      .set({
        failures,
        error: error.message,
        errorKind: error.kind,
        lease: null,
        status: final ? 'failed' : 'queued',
        updatedAt: now,
        ...(final ? { finishedAt: now } : {}),
      })
      .execute();
    return { failures, final };
  }

  /** Fails a job that has not finished, whoever holds it (the queue gave up on it). */
  async failUnfinished(id: string, error: SafeError): Promise<boolean> {
    const now = new Date();
    const result = await this.jobs
      .createQueryBuilder()
      .update(JobEntity)
      .set({
        status: 'failed',
        error: error.message,
        errorKind: error.kind,
        lease: null,
        finishedAt: now,
        updatedAt: now,
      })
      .where('id = :id AND status IN (:...open)', { id, open: ['queued', 'running'] })
      .execute();
    return result.affected === 1;
  }

  /**
   * A queued job is cancelled at once; a running one is asked to stop at its next chunk boundary.
   * Conditional updates make this safe against a worker claiming the job at the same moment.
   */
  async requestCancel(id: string): Promise<CancelOutcome> {
    const now = new Date();
    for (let tries = 0; tries < 3; tries++) {
      const queued = await this.jobs
        .createQueryBuilder()
        .update(JobEntity)
        .set({ status: 'cancelled', cancelRequested: true, lease: null, finishedAt: now, updatedAt: now })
        .where("id = :id AND status = 'queued'", { id })
        .execute();
      if (queued.affected === 1) return 'cancelled';
      const running = await this.jobs
        .createQueryBuilder()
        .update(JobEntity)
        .set({ cancelRequested: true, updatedAt: now })
        .where("id = :id AND status = 'running'", { id })
        .execute();
      if (running.affected === 1) return 'requested';
      const row = await this.jobs.findOne({ select: { status: true }, where: { id } });
      if (!row) return 'missing';
      if (FINISHED_STATUSES.includes(row.status)) return 'finished';
    }
    return 'requested';
  }

  /** Removes the job, its instances and its results (the foreign keys cascade). */
  async delete(id: string): Promise<boolean> {
    await this.jobs.update({ id }, { cancelRequested: true });
    const result = await this.jobs.delete({ id });
    return (result.affected ?? 0) > 0;
  }

  private owned(manager: EntityManager, id: string, lease: string) {
    return manager
      .createQueryBuilder()
      .update(JobEntity)
      .where("id = :id AND lease = :lease AND status = 'running'", { id, lease });
  }
}

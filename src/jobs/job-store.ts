import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Not } from 'typeorm';
import { modelPatternsWhere } from '../auth/model-patterns';
import { ConflictError } from '../common/errors';
import type { SafeError } from '../common/safe-error';
import { JobResultEntity } from './entities/job-result.entity';
import { FINISHED_STATUSES, JobEntity, JobStatus, STORING } from './entities/job.entity';
import type { InstanceOutcome } from './chunk-executor';
import type { StoredInstance } from './instance-codec';
import { batchInstances, insertInstanceBatch, readInstances } from './instance-rows';
import { yieldToEventLoop } from './payload-parts';
import {
  byBatchBytes,
  deleteResultParts,
  insertResultParts,
  insertResultRows,
  resultRows,
  rowBytes,
  withResultParts,
} from './result-rows';

/** A job whose model went away while it was stored: the row cascaded with the model. */
function modelDeleted(model: string): ConflictError {
  return new ConflictError(`Model '${model}' was deleted while the job was being stored; nothing was queued`);
}

/** A job left 'storing' this long is what a process that died while storing it left behind. */
const STALE_STORING_MINUTES = 10;

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
 *
 * Payloads are stored in parts and moved about 1 MiB per statement (payload-parts.ts). On
 * SQLite, whose statements run on the HTTP thread, they also go about 1 MiB per transaction
 * with a turn of the event loop between, so that no job, however large its instances or outputs,
 * holds up other requests for more than a few milliseconds at a time.
 */
@Injectable()
export class JobStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobStore.name);
  private sweeper?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get jobs() {
    return this.dataSource.getRepository(JobEntity);
  }

  /** SQLite: statements run on this thread, so a job is stored in steps (see `create`). */
  private get stepwise(): boolean {
    return this.dataSource.options.type !== 'postgres';
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.stepwise) return;
    await this.sweepHalfStored();
    // A timer has no caller to tell; sweepHalfStored logs its own failure and never rejects.
    this.sweeper = setInterval(() => void this.sweepHalfStored(), STALE_STORING_MINUTES * 60_000).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  /**
   * The job row and all its instances; the job is queued (visible and runnable) only once every
   * instance is stored, and a failure leaves nothing behind. PostgreSQL does it in one
   * transaction. SQLite writes the row first as 'storing', which nothing lists, shows or runs,
   * then the instances about 1 MiB per transaction, then makes it 'queued'; a failure deletes
   * the row (its instances go with it), and a row a crash left 'storing' is swept later.
   */
  async create(job: NewJob, instances: AsyncIterable<StoredInstance>): Promise<JobEntity> {
    const row = { ...job, done: 0, attempts: 0, failures: 0 };
    if (!this.stepwise) {
      return this.dataSource.transaction(async (manager) => {
        const saved = await manager.save(manager.create(JobEntity, { ...row, status: 'queued' }));
        await batchInstances(saved.id, instances, (batch) => insertInstanceBatch(manager, batch));
        return saved;
      });
    }
    const saved = await this.jobs.save(this.jobs.create({ ...row, status: STORING }));
    try {
      await batchInstances(saved.id, instances, async (batch) => {
        await this.dataSource.transaction((manager) => insertInstanceBatch(manager, batch));
        await yieldToEventLoop();
      });
      const queued = await this.jobs.update({ id: saved.id, status: STORING }, { status: 'queued' });
      if (queued.affected !== 1) throw modelDeleted(job.modelName);
      saved.status = 'queued';
      return saved;
    } catch (error) {
      const deleted = await this.jobs.delete({ id: saved.id, status: STORING });
      // Already gone: its model was deleted meanwhile (the row cascades with it).
      if (deleted.affected === 0) throw modelDeleted(job.modelName);
      throw error;
    }
  }

  /**
   * Removes jobs that have been 'storing' for STALE_STORING_MINUTES: what a process that died
   * while storing them left (SQLite only; at start and every STALE_STORING_MINUTES).
   */
  async sweepHalfStored(): Promise<void> {
    try {
      const swept = await this.jobs
        .createQueryBuilder()
        .delete()
        .where(`status = :storing AND created_at < datetime('now', :age)`, {
          storing: STORING,
          age: `-${STALE_STORING_MINUTES} minutes`,
        })
        .execute();
      if (swept.affected) this.logger.warn({ msg: 'removed jobs left half-stored', count: swept.affected });
    } catch (error) {
      this.logger.warn({ msg: 'could not sweep half-stored jobs', err: (error as Error).message });
    }
  }

  /** A job as clients may see it: never one still 'storing'. */
  find(id: string): Promise<JobEntity | null> {
    return this.jobs.findOneBy({ id, status: Not(STORING) });
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
    // A job still being stored (SQLite writes it in steps) is not shown.
    else qb.andWhere('j.status != :storing', { storing: STORING });
    if (filter.model) qb.andWhere('j.model_name = :model', { model: filter.model });
    if (visibility.actor !== null) qb.andWhere('j.actor = :actor', { actor: visibility.actor });
    const scope = modelPatternsWhere('j.model_name', visibility.models);
    if (scope) qb.andWhere(scope.sql, scope.parameters);
    return qb.orderBy('j.createdAt', 'DESC').addOrderBy('j.id', 'ASC').skip(skip).take(take).getManyAndCount();
  }

  /** Results in index order, their outputs joined back from their parts. */
  async results(id: string, skip: number, take: number): Promise<[JobResultEntity[], number]> {
    const [rows, total] = await this.dataSource
      .getRepository(JobResultEntity)
      .findAndCount({ where: { jobId: id }, order: { index: 'ASC' }, skip, take });
    return [await withResultParts(this.dataSource, rows), total];
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

  /**
   * Stored instances with index in [from, to), in order, about 1 MiB per query: fewer when
   * they hold more than `maxBytes` together (at least one, whatever its size).
   */
  instances(id: string, from: number, to: number, maxBytes: number): Promise<(StoredInstance & { index: number })[]> {
    return readInstances(this.dataSource, id, { from, to }, maxBytes);
  }

  /**
   * Saves a chunk's results and moves `done` from `from` to `from + results.length`, only while
   * `lease` still owns the job; false when it no longer does. Outputs past one part are written
   * first, in transactions of about 1 MiB (the first also removes parts an attempt that
   * failed before saving these results left); then the rows, about 1 MiB per transaction,
   * each moving `done` past its own rows. Results below `done` are thus always complete, and
   * there is none at or above it.
   */
  async saveChunk(id: string, lease: string, from: number, results: InstanceOutcome[]): Promise<boolean> {
    const { rows, parts } = resultRows(id, results);
    let stalePartsLeft = true;
    for (const batch of byBatchBytes(parts, (part) => part.outputs.length)) {
      const owned = await this.dataSource.transaction(async (manager) => {
        const touched = await this.owned(manager, id, lease).set({ updatedAt: new Date() }).execute();
        if (touched.affected !== 1) return false;
        if (stalePartsLeft) await deleteResultParts(manager, id, from, from + results.length);
        await insertResultParts(manager, batch);
        return true;
      });
      if (!owned) return false;
      stalePartsLeft = false;
      await yieldToEventLoop();
    }
    let done = from;
    for (const group of byBatchBytes(rows, rowBytes)) {
      const moved = await this.dataSource.transaction(async (manager) => {
        const moved = await this.owned(manager, id, lease)
          .set({ done: done + group.length, updatedAt: new Date() })
          .andWhere('done = :done', { done })
          .execute();
        if (moved.affected !== 1) return false;
        if (stalePartsLeft) await deleteResultParts(manager, id, from, from + results.length);
        await insertResultRows(manager, group);
        return true;
      });
      if (!moved) return false;
      stalePartsLeft = false;
      done += group.length;
      await yieldToEventLoop();
    }
    return true;
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
      if (!row || row.status === STORING) return 'missing';
      if (FINISHED_STATUSES.includes(row.status)) return 'finished';
    }
    return 'requested';
  }

  /** Removes the job, its instances and its results (the foreign keys cascade). */
  async delete(id: string): Promise<boolean> {
    const shown = { id, status: Not<JobStatus | typeof STORING>(STORING) };
    await this.jobs.update(shown, { cancelRequested: true });
    const result = await this.jobs.delete(shown);
    return (result.affected ?? 0) > 0;
  }

  private owned(manager: EntityManager, id: string, lease: string) {
    return manager
      .createQueryBuilder()
      .update(JobEntity)
      .where("id = :id AND lease = :lease AND status = 'running'", { id, lease });
  }
}

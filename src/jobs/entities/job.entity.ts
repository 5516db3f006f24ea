import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { SafeErrorKind } from '../../common/safe-error';

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** States a job never leaves. */
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
/**
 * A job whose instances are still being written (SQLite writes them in steps, see JobStore.create):
 * no client sees it and no runner takes it. Internal, never one of the JobStatus values shown.
 */
export const STORING = 'storing' as const;

/** One queued batch inference: the source of truth for status, progress, attempts and errors. */
@Entity('jobs')
export class JobEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'model_id', type: 'varchar' })
  modelId: string;

  /** The version the job runs on; null once that version is deleted (the job then fails). */
  @Column({ name: 'model_version_id', type: 'varchar', nullable: true })
  modelVersionId: string | null;

  @Column({ name: 'model_name', type: 'varchar', length: 64 })
  modelName: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'varchar', length: 16 })
  status: JobStatus | typeof STORING;

  @Column({ type: 'integer' })
  total: number;

  /** Instances with a stored result; results of indexes below `done` exist, none above. */
  @Column({ type: 'integer', default: 0 })
  done: number;

  /** Times a worker started running the job (a resume after a crash or a release counts). */
  @Column({ type: 'integer', default: 0 })
  attempts: number;

  /** Attempts that ended in an error; at JOBS_ATTEMPTS the job fails. Internal. */
  @Column({ type: 'integer', default: 0 })
  failures: number;

  /** Why the job (or its last attempt) failed, safe to show; internals are in the server log. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** The kind of `error` (a SafeErrorKind); null on rows written before kinds were stored. */
  @Column({ name: 'error_kind', type: 'varchar', length: 24, nullable: true })
  errorKind: SafeErrorKind | null;

  @Column({ name: 'cancel_requested', type: 'boolean', default: false })
  cancelRequested: boolean;

  /** Token of the attempt that owns the job; a chunk is saved only under it. Internal. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  lease: string | null;

  /** The credential that made it (Principal.actor); null on rows from before access control. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  actor: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;

  @Column({ name: 'started_at', type: Date, nullable: true })
  startedAt: Date | null;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt: Date | null;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { SafeErrorKind } from '../../common/safe-error';

/** The outcome of one instance: its encoded outputs (JSON) or the reason it failed. */
@Entity('job_results')
export class JobResultEntity {
  @PrimaryColumn({ name: 'job_id', type: 'varchar' })
  jobId: string;

  @PrimaryColumn({ name: 'idx', type: 'integer' })
  index: number;

  /** `{name: {dtype, shape, data}}` serialized, exactly as a prediction's `outputs`. */
  @Column({ type: 'text', nullable: true })
  outputs: string | null;

  /** Why the instance failed, safe to show; internals are in the server log. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** The kind of `error` (a SafeErrorKind); null on rows written before kinds were stored. */
  @Column({ name: 'error_kind', type: 'varchar', length: 24, nullable: true })
  errorKind: SafeErrorKind | null;
}

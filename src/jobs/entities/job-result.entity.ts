import { Column, Entity, PrimaryColumn } from 'typeorm';

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

  @Column({ type: 'text', nullable: true })
  error: string | null;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { PredictionRole } from './prediction.entity';

/**
 * One minute of one (model, version, role) of traffic, summed over every replica (see
 * TrafficRollupService, which writes it with additive upserts). `version` -1: none.
 */
@Entity('traffic_rollups')
export class TrafficRollupEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  model: string;

  @PrimaryColumn({ type: 'integer' })
  version: number;

  @PrimaryColumn({ type: 'varchar', length: 8 })
  role: PredictionRole;

  /** Minutes since the Unix epoch (UTC). */
  @PrimaryColumn({ type: 'integer' })
  minute: number;

  @Column({ type: 'integer', default: 0 })
  requests: number;

  @Column({ type: 'integer', default: 0 })
  errors: number;

  @Column({ type: 'integer', default: 0 })
  dropped: number;

  @Column({ type: 'integer', default: 0 })
  compared: number;

  @Column({ type: 'integer', default: 0 })
  agreed: number;

  @Column({ type: 'integer', default: 0 })
  diffs: number;

  @Column({ name: 'diff_sum', type: 'double precision', default: 0 })
  diffSum: number;

  @Column({ name: 'diff_max', type: 'double precision', nullable: true })
  diffMax: number | null;

  @Column({ name: 'latency_min', type: 'double precision', nullable: true })
  latencyMin: number | null;

  @Column({ name: 'latency_max', type: 'double precision', nullable: true })
  latencyMax: number | null;

  /** Sparse `{bucket: count}` JSON of the latency histogram (latency-histogram.ts). */
  @Column({ name: 'latency_buckets', type: 'text', default: '{}' })
  latencyBuckets: string;
}

import type { PredictionProtocol } from '../prediction-protocol';

export type PredictionRole = 'served' | 'shadow';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One row of the prediction log, written in batches off the request path. */
@Entity('predictions')
export class PredictionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Null when the request failed before naming a valid model. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  model: string | null;

  @Column({ type: 'integer', nullable: true })
  version: number | null;

  /** ok, or the error's SafeErrorKind (invalid, not_found, inference_failed, internal, ...). */
  @Column({ type: 'varchar', length: 24 })
  status: string;

  @Column({ name: 'status_code', type: 'integer' })
  statusCode: number;

  @Column({ type: 'boolean', default: false })
  cached: boolean;

  @Column({ name: 'latency_ms', type: 'double precision' })
  latencyMs: number;

  @Column({ name: 'input_hash', type: 'varchar', length: 64, nullable: true })
  inputHash: string | null;

  /** The safe message the client got (see common/safe-error.ts). */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** The credential that made it (Principal.actor); null on rows from before access control. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  actor: string | null;

  /** How the prediction came in: rest (/api/v1/predictions), oip-rest or oip-grpc. */
  @Column({ type: 'varchar', length: 16, default: 'rest' })
  protocol: PredictionProtocol;

  @Column({ type: 'text', nullable: true })
  inputs: string | null;

  @Column({ type: 'text', nullable: true })
  outputs: string | null;

  /** `served` (answered a client) or `shadow` (a traffic policy's mirror of a served request). */
  @Column({ type: 'varchar', length: 8, default: 'served' })
  role: PredictionRole;

  /** A shadow row's served request (this table's id). */
  @Column({ name: 'served_id', type: 'varchar', length: 36, nullable: true })
  servedId: string | null;

  /** A shadow row's agreement with the served outputs (see shadow-agreement.ts); null when not compared. */
  @Column({ type: 'boolean', nullable: true })
  agrees: boolean | null;

  @Column({ name: 'max_rel_diff', type: 'double precision', nullable: true })
  maxRelDiff: number | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;
}

import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { bigintToNumber } from '../../database/columns';
import type { TensorSpec } from '../../inference/tensor-spec';
import { ModelEntity } from './model.entity';

export const VERSION_STATUSES = ['ready', 'failed', 'archived'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** A version's metadata: string or number values by key. */
export type VersionMetadata = Record<string, string | number>;

@Entity('model_versions')
export class ModelVersionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'model_id', type: 'varchar' })
  modelId: string;

  @ManyToOne(() => ModelEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'model_id' })
  model?: ModelEntity;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'varchar', length: 16 })
  status: VersionStatus;

  /** Why the version is `failed` (its file failed the check at start); null otherwise. */
  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason: string | null;

  @Column({ type: 'text', default: '' })
  description: string;

  @Column({ type: 'varchar', length: 64 })
  sha256: string;

  /** Where the ArtifactStore keeps the bytes; internal, never in a response. */
  @Column({ name: 'storage_key', type: 'varchar', length: 255 })
  storageKey: string;

  @Column({ name: 'size_bytes', type: 'bigint', transformer: bigintToNumber })
  sizeBytes: number;

  @Column({ name: 'ir_version', type: 'integer' })
  irVersion: number;

  @Column({ name: 'opset_version', type: 'integer' })
  opsetVersion: number;

  @Column({ name: 'producer_name', type: 'varchar', length: 255, default: '' })
  producerName: string;

  @Column({ name: 'producer_version', type: 'varchar', length: 255, default: '' })
  producerVersion: string;

  /** Free-form facts about the version (metrics, dataset, commit); bounds in version-metadata.ts. */
  @Column({ type: 'simple-json', default: '{}' })
  metadata: VersionMetadata;

  @Column({ type: 'simple-json' })
  inputs: TensorSpec[];

  @Column({ type: 'simple-json' })
  outputs: TensorSpec[];

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}

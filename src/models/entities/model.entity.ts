import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { TrafficPolicy } from '../traffic-policy';

@Entity('models')
export class ModelEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  name: string;

  @Column({ type: 'text', default: '' })
  description: string;

  /** Stored as a JSON array; tags never contain quotes, so `"tag"` matches exactly. */
  @Column({ type: 'simple-json', default: '[]' })
  tags: string[];

  @Column({ type: 'simple-json', default: '{}' })
  aliases: Record<string, number>;

  /** Highest version number ever issued; numbers are never reused after a delete. */
  @Column({ name: 'version_counter', type: 'integer', default: 0 })
  versionCounter: number;

  @Column({ name: 'latest_version', type: 'integer', nullable: true })
  latestVersion: number | null;

  /** Prediction cache on or off for this model; null follows CACHE_DEFAULT_ENABLED. */
  @Column({ name: 'cache_enabled', type: 'boolean', nullable: true })
  cacheEnabled: boolean | null;

  /** Null follows CACHE_DEFAULT_TTL_SECONDS. */
  @Column({ name: 'cache_ttl_seconds', type: 'integer', nullable: true })
  cacheTtlSeconds: number | null;

  /** Keep request inputs and outputs in the prediction log (opt-in). */
  @Column({ name: 'log_payloads', type: 'boolean', default: false })
  logPayloads: boolean;

  /**
   * Dynamic batching (see batching-settings.ts). The other batching columns are null until the
   * model first sets batching, and are then written whole; null follows BATCHING_DEFAULTS.
   */
  @Column({ name: 'batching_enabled', type: 'boolean', default: false })
  batchingEnabled: boolean;

  @Column({ name: 'batching_max_batch_size', type: 'integer', nullable: true })
  batchingMaxBatchSize: number | null;

  @Column({ name: 'batching_max_queue_delay_ms', type: 'integer', nullable: true })
  batchingMaxQueueDelayMs: number | null;

  /** Ascending, distinct. */
  @Column({ name: 'batching_preferred_batch_sizes', type: 'simple-json', nullable: true })
  batchingPreferredBatchSizes: number[] | null;

  /** How requests naming no version are split between versions; null: the latest ready version. */
  @Column({ type: 'simple-json', nullable: true })
  traffic: TrafficPolicy | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}

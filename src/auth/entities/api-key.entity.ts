import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Role } from '../roles';

/** An API key. The secret itself is never stored: only its SHA-256, compared in constant time. */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  role: Role;

  /** The public start of the key (`mf_` and 8 characters), unique: finds the row, shown in lists. */
  @Column({ type: 'varchar', length: 16, unique: true })
  prefix: string;

  /** SHA-256 (hex) of the whole key. Internal: never in a response. */
  @Column({ type: 'varchar', length: 64 })
  hash: string;

  /** Model-name patterns the key may touch (`iris`, `fraud-*`); null = every model. JSON text. */
  @Column({ type: 'text', nullable: true })
  models: string | null;

  @Column({ name: 'rate_limit_per_minute', type: 'integer', nullable: true })
  rateLimitPerMinute: number | null;

  /** Who created it (an actor id, see Principal.actor). */
  @Column({ name: 'created_by', type: 'varchar', length: 64, nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: Date, nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'last_used_at', type: Date, nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt: Date | null;
}

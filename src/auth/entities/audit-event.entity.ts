import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One write to the registry, keys or users: who did what to which target, written in the write's transaction. */
@Entity('audit_events')
export class AuditEventEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @CreateDateColumn({ name: 'at' })
  at: Date;

  /** The credential (Principal.actor: `key:<id>`, `user:<id>`, `admin-key`, `auth-disabled`). */
  @Column({ type: 'varchar', length: 64 })
  actor: string;

  /** The credential's name or username when the write happened. */
  @Column({ name: 'actor_name', type: 'varchar', length: 128 })
  actorName: string;

  /** `model.create`, `version.delete`, `key.revoke`, ... */
  @Column({ type: 'varchar', length: 64 })
  action: string;

  /** `model:iris`, `version:iris/3`, `key:<id>`, `user:alice`. */
  @Column({ type: 'varchar', length: 256 })
  target: string;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  /** Safe details of the change as JSON text (changed fields; never a secret). */
  @Column({ type: 'text', nullable: true })
  details: string | null;
}

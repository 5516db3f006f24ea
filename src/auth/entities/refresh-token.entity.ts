import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One refresh token of a login. Each refresh replaces it by a new one of the same family; using a
 * replaced token again revokes the whole family (the token was stolen or replayed).
 */
@Entity('refresh_tokens')
export class RefreshTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  /** Every token descended from one login shares the family id. */
  @Column({ name: 'family_id', type: 'varchar', length: 36 })
  familyId: string;

  /** SHA-256 (hex) of the token. Internal. */
  @Column({ type: 'varchar', length: 64, unique: true })
  hash: string;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt: Date;

  /** Set when a refresh replaced this token; a second use then revokes the family. */
  @Column({ name: 'used_at', type: Date, nullable: true })
  usedAt: Date | null;

  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt: Date | null;
}

import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { idColumn, timestampColumn } from './helpers';

/**
 * Access control: API keys and users (secrets stored only as hashes), refresh-token families,
 * the audit trail, and the credential that made each prediction and job.
 */
export class AccessControl1764160000000 implements MigrationInterface {
  name = 'AccessControl1764160000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          idColumn(queryRunner),
          { name: 'name', type: 'varchar', length: '64' },
          { name: 'role', type: 'varchar', length: '16' },
          { name: 'prefix', type: 'varchar', length: '16', isUnique: true },
          { name: 'hash', type: 'varchar', length: '64' },
          { name: 'models', type: 'text', isNullable: true },
          { name: 'rate_limit_per_minute', type: 'integer', isNullable: true },
          { name: 'created_by', type: 'varchar', length: '64', isNullable: true },
          timestampColumn(queryRunner, 'created_at'),
          timestampColumn(queryRunner, 'expires_at', true),
          timestampColumn(queryRunner, 'last_used_at', true),
          timestampColumn(queryRunner, 'revoked_at', true),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          idColumn(queryRunner),
          { name: 'username', type: 'varchar', length: '64', isUnique: true },
          { name: 'password_hash', type: 'varchar', length: '256' },
          { name: 'role', type: 'varchar', length: '16' },
          timestampColumn(queryRunner, 'created_at'),
          timestampColumn(queryRunner, 'updated_at'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'refresh_tokens',
        columns: [
          idColumn(queryRunner),
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'family_id', type: 'varchar', length: '36' },
          { name: 'hash', type: 'varchar', length: '64', isUnique: true },
          timestampColumn(queryRunner, 'created_at'),
          timestampColumn(queryRunner, 'expires_at'),
          timestampColumn(queryRunner, 'used_at', true),
          timestampColumn(queryRunner, 'revoked_at', true),
        ],
      }),
    );
    await queryRunner.createIndex(
      'refresh_tokens',
      new TableIndex({ name: 'IDX_refresh_tokens_family', columnNames: ['family_id'] }),
    );
    await queryRunner.createIndex(
      'refresh_tokens',
      new TableIndex({ name: 'IDX_refresh_tokens_user', columnNames: ['user_id'] }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          idColumn(queryRunner),
          timestampColumn(queryRunner, 'at'),
          { name: 'actor', type: 'varchar', length: '64' },
          { name: 'actor_name', type: 'varchar', length: '128' },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'target', type: 'varchar', length: '256' },
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'details', type: 'text', isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex('audit_events', new TableIndex({ name: 'IDX_audit_events_at', columnNames: ['at'] }));
    for (const table of ['predictions', 'jobs']) {
      await queryRunner.addColumn(
        table,
        new TableColumn({ name: 'actor', type: 'varchar', length: '64', isNullable: true }),
      );
    }
    await queryRunner.createIndex('jobs', new TableIndex({ name: 'IDX_jobs_actor', columnNames: ['actor'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('jobs', 'IDX_jobs_actor');
    for (const table of ['jobs', 'predictions']) await queryRunner.dropColumn(table, 'actor');
    for (const table of ['audit_events', 'refresh_tokens', 'users', 'api_keys']) await queryRunner.dropTable(table);
  }
}

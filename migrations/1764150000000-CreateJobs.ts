import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableForeignKey, TableIndex } from 'typeorm';
import { idColumn, timestampColumn, timestampColumns, uuidRefColumn } from './helpers';

/**
 * Queued batch inference: `jobs` is the source of truth for status and progress, `job_instances`
 * keeps the validated inputs (so a job survives restarts and runs on any worker) as a JSON header
 * and raw tensor bytes (bytea on PostgreSQL, blob on SQLite; see instance-codec.ts), `job_results`
 * one row per finished instance. The primary key (job_id, idx) makes a re-run chunk unable to
 * duplicate a result.
 */
export class CreateJobs1764150000000 implements MigrationInterface {
  name = 'CreateJobs1764150000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'jobs',
        columns: [
          idColumn(queryRunner),
          uuidRefColumn(queryRunner, 'model_id'),
          uuidRefColumn(queryRunner, 'model_version_id', true),
          { name: 'model_name', type: 'varchar', length: '64', isNullable: false },
          { name: 'version', type: 'integer', isNullable: false },
          { name: 'status', type: 'varchar', length: '16', isNullable: false },
          { name: 'total', type: 'integer', isNullable: false },
          { name: 'done', type: 'integer', isNullable: false, default: 0 },
          { name: 'attempts', type: 'integer', isNullable: false, default: 0 },
          { name: 'failures', type: 'integer', isNullable: false, default: 0 },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'cancel_requested', type: 'boolean', isNullable: false, default: false },
          { name: 'lease', type: 'varchar', length: '36', isNullable: true },
          ...timestampColumns(queryRunner),
          timestampColumn(queryRunner, 'started_at', true),
          timestampColumn(queryRunner, 'finished_at', true),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_jobs_model',
            columnNames: ['model_id'],
            referencedTableName: 'models',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'FK_jobs_model_version',
            columnNames: ['model_version_id'],
            referencedTableName: 'model_versions',
            referencedColumnNames: ['id'],
            onDelete: 'SET NULL',
          }),
        ],
      }),
    );
    await queryRunner.createIndex('jobs', new TableIndex({ name: 'IDX_jobs_status', columnNames: ['status'] }));
    await queryRunner.createIndex('jobs', new TableIndex({ name: 'IDX_jobs_model_name', columnNames: ['model_name'] }));
    await queryRunner.createIndex('jobs', new TableIndex({ name: 'IDX_jobs_created_at', columnNames: ['created_at'] }));

    await queryRunner.createTable(
      childTable(queryRunner, 'job_instances', [
        { name: 'header', type: 'text' },
        { name: 'data', type: queryRunner.connection.options.type === 'postgres' ? 'bytea' : 'blob' },
      ]),
    );
    await queryRunner.createTable(
      childTable(queryRunner, 'job_results', [
        { name: 'outputs', type: 'text', isNullable: true },
        { name: 'error', type: 'text', isNullable: true },
      ]),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('job_results');
    await queryRunner.dropTable('job_instances');
    await queryRunner.dropTable('jobs');
  }
}

/** A per-instance table keyed by (job_id, idx), removed with its job. */
function childTable(queryRunner: QueryRunner, name: string, payload: TableColumnOptions[]): Table {
  return new Table({
    name,
    columns: [
      { ...uuidRefColumn(queryRunner, 'job_id'), isPrimary: true },
      { name: 'idx', type: 'integer', isNullable: false, isPrimary: true },
      ...payload,
    ],
    foreignKeys: [
      new TableForeignKey({
        name: `FK_${name}_job`,
        columnNames: ['job_id'],
        referencedTableName: 'jobs',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      }),
    ],
  });
}

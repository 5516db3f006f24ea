import { MigrationInterface, QueryRunner, Table, TableForeignKey } from 'typeorm';
import { uuidRefColumn } from './helpers';

/**
 * Instance data and result outputs past one part (1 MiB, see src/jobs/payload-parts.ts) continue
 * in numbered parts: the row in `job_instances` or `job_results` holds part 0, these tables parts
 * 1 and up. No statement then reads or writes more than a few megabytes, which on SQLite (whose
 * statements run on the HTTP thread) keeps a 16 MB instance from stalling every other request.
 * Rows written before hold their whole payload and have no parts.
 */
export class JobPayloadParts1764165000000 implements MigrationInterface {
  name = 'JobPayloadParts1764165000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.createTable(
      partsTable(queryRunner, 'job_instance_parts', { name: 'data', type: postgres ? 'bytea' : 'blob' }),
    );
    await queryRunner.createTable(partsTable(queryRunner, 'job_result_parts', { name: 'outputs', type: 'text' }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('job_result_parts');
    await queryRunner.dropTable('job_instance_parts');
  }
}

/** Parts keyed by (job_id, idx, part), removed with their job. */
function partsTable(queryRunner: QueryRunner, name: string, payload: { name: string; type: string }): Table {
  return new Table({
    name,
    columns: [
      { ...uuidRefColumn(queryRunner, 'job_id'), isPrimary: true },
      { name: 'idx', type: 'integer', isNullable: false, isPrimary: true },
      { name: 'part', type: 'integer', isNullable: false, isPrimary: true },
      { ...payload, isNullable: false },
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

import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * A stable kind beside each stored job and instance error (`error` keeps the safe message).
 * Rows written before have no kind; the API withholds their text, which may be raw internals.
 */
export class JobErrorKinds1764155000000 implements MigrationInterface {
  name = 'JobErrorKinds1764155000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['jobs', 'job_results']) {
      await queryRunner.addColumn(
        table,
        new TableColumn({ name: 'error_kind', type: 'varchar', length: '24', isNullable: true }),
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['job_results', 'jobs']) await queryRunner.dropColumn(table, 'error_kind');
  }
}

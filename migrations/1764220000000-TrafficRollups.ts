import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Per-minute traffic rollups: one row per (model, minute, version, role) with the counts, the
 * relative-difference sum and max and a sparse latency histogram, which every replica adds its
 * in-memory minutes into (see TrafficRollupService). GET .../traffic/stats reads these rows instead
 * of the prediction log. `version` -1 stands for none (a shadow run that did not resolve one): a
 * primary key column cannot be null. Rows older than a day and an hour are deleted on a schedule;
 * the index on `minute` serves that delete.
 */
export class TrafficRollups1764220000000 implements MigrationInterface {
  name = 'TrafficRollups1764220000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const count = (name: string) => ({ name, type: 'integer', isNullable: false, default: 0 });
    await queryRunner.createTable(
      new Table({
        name: 'traffic_rollups',
        columns: [
          // Key order: a model's window is one range of the primary key index.
          { name: 'model', type: 'varchar', length: '64', isPrimary: true },
          { name: 'minute', type: 'integer', isPrimary: true },
          { name: 'version', type: 'integer', isPrimary: true },
          { name: 'role', type: 'varchar', length: '8', isPrimary: true },
          count('requests'),
          count('errors'),
          count('dropped'),
          count('compared'),
          count('agreed'),
          count('diffs'),
          { name: 'diff_sum', type: 'double precision', isNullable: false, default: 0 },
          { name: 'diff_max', type: 'double precision', isNullable: true },
          { name: 'latency_min', type: 'double precision', isNullable: true },
          { name: 'latency_max', type: 'double precision', isNullable: true },
          { name: 'latency_buckets', type: 'text', isNullable: false, default: "'{}'" },
        ],
      }),
    );
    await queryRunner.createIndex(
      'traffic_rollups',
      new TableIndex({ name: 'IDX_traffic_rollups_minute', columnNames: ['minute'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('traffic_rollups');
  }
}

import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { idColumn, timestampColumn } from './helpers';

export class CacheAndPredictionLog1764145000000 implements MigrationInterface {
  name = 'CacheAndPredictionLog1764145000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('models', [
      // null: the configured default applies
      new TableColumn({ name: 'cache_enabled', type: 'boolean', isNullable: true }),
      new TableColumn({ name: 'cache_ttl_seconds', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'log_payloads', type: 'boolean', isNullable: false, default: false }),
    ]);
    await queryRunner.createTable(
      new Table({
        name: 'predictions',
        columns: [
          idColumn(queryRunner),
          { name: 'model', type: 'varchar', length: '64', isNullable: true },
          { name: 'version', type: 'integer', isNullable: true },
          { name: 'status', type: 'varchar', length: '24', isNullable: false },
          { name: 'status_code', type: 'integer', isNullable: false },
          { name: 'cached', type: 'boolean', isNullable: false, default: false },
          { name: 'latency_ms', type: 'double precision', isNullable: false },
          { name: 'input_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'inputs', type: 'text', isNullable: true },
          { name: 'outputs', type: 'text', isNullable: true },
          timestampColumn(queryRunner, 'created_at'),
        ],
      }),
    );
    await queryRunner.createIndex(
      'predictions',
      new TableIndex({ name: 'IDX_predictions_model_created', columnNames: ['model', 'created_at'] }),
    );
    await queryRunner.createIndex(
      'predictions',
      new TableIndex({ name: 'IDX_predictions_created', columnNames: ['created_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('predictions');
    await queryRunner.dropColumn('models', 'log_payloads');
    await queryRunner.dropColumn('models', 'cache_ttl_seconds');
    await queryRunner.dropColumn('models', 'cache_enabled');
  }
}

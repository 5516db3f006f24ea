import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Per-model dynamic batching settings (src/models/batching-settings.ts). Existing models keep
 * batching off; the null columns follow the defaults until a model sets batching.
 */
export class ModelBatching1764170000000 implements MigrationInterface {
  name = 'ModelBatching1764170000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('models', [
      new TableColumn({ name: 'batching_enabled', type: 'boolean', isNullable: false, default: false }),
      new TableColumn({ name: 'batching_max_batch_size', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'batching_max_queue_delay_ms', type: 'integer', isNullable: true }),
      // simple-json: a JSON array of integers
      new TableColumn({ name: 'batching_preferred_batch_sizes', type: 'text', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('models', 'batching_preferred_batch_sizes');
    await queryRunner.dropColumn('models', 'batching_max_queue_delay_ms');
    await queryRunner.dropColumn('models', 'batching_max_batch_size');
    await queryRunner.dropColumn('models', 'batching_enabled');
  }
}

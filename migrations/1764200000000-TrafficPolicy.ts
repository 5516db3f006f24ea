import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * A model's traffic policy (PUT /api/v1/models/{name}/traffic): the weighted split that answers
 * requests naming no version, and its sticky header, as JSON in text on both databases. Null (every
 * model stored before it) means the latest ready version answers.
 */
export class TrafficPolicy1764200000000 implements MigrationInterface {
  name = 'TrafficPolicy1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('models', new TableColumn({ name: 'traffic', type: 'text', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('models', 'traffic');
  }
}

import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Free-form metadata of a version (metrics, dataset, commit: string or number values), set by
 * PATCH /api/v1/models/{name}/versions/{version}; a JSON object in text on both databases.
 * Versions stored before it have none.
 */
export class VersionMetadata1764190000000 implements MigrationInterface {
  name = 'VersionMetadata1764190000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'model_versions',
      new TableColumn({ name: 'metadata', type: 'text', isNullable: false, default: "'{}'" }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('model_versions', 'metadata');
  }
}

import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * A version's lifecycle beyond its upload: free-form `metadata` (metrics, dataset, commit: string
 * or number values, a JSON object in text on both databases), set by PATCH
 * /api/v1/models/{name}/versions/{version}, and `failure_reason`, why a version whose file failed
 * its check at start is `failed`. Versions stored before it have neither.
 */
export class VersionLifecycle1764190000000 implements MigrationInterface {
  name = 'VersionLifecycle1764190000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('model_versions', [
      new TableColumn({ name: 'metadata', type: 'text', isNullable: false, default: "'{}'" }),
      new TableColumn({ name: 'failure_reason', type: 'text', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('model_versions', 'failure_reason');
    await queryRunner.dropColumn('model_versions', 'metadata');
  }
}

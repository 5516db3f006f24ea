import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Shadow runs in the prediction log (traffic policy `shadow`): `role` says whether a row answered
 * a client (`served`, every row before it) or is a shadow run (`shadow`); a shadow row links to the
 * served row it mirrored (`served_id`) and says whether its outputs agreed with it (`agrees`) and
 * their largest relative difference (`max_rel_diff`). GET .../traffic/stats groups these over the
 * existing (model, created_at) index.
 */
export class ShadowPredictions1764210000000 implements MigrationInterface {
  name = 'ShadowPredictions1764210000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('predictions', [
      new TableColumn({ name: 'role', type: 'varchar', length: '8', isNullable: false, default: "'served'" }),
      new TableColumn({ name: 'served_id', type: 'varchar', length: '36', isNullable: true }),
      new TableColumn({ name: 'agrees', type: 'boolean', isNullable: true }),
      new TableColumn({ name: 'max_rel_diff', type: 'double precision', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const column of ['max_rel_diff', 'agrees', 'served_id', 'role']) {
      await queryRunner.dropColumn('predictions', column);
    }
  }
}

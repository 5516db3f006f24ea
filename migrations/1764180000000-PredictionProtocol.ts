import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * The protocol a prediction came over (src/predictions/prediction-protocol.ts): `rest` for
 * POST /api/v1/predictions, `oip-rest` and `oip-grpc` for the Open Inference Protocol. Rows
 * written before it are REST predictions.
 */
export class PredictionProtocol1764180000000 implements MigrationInterface {
  name = 'PredictionProtocol1764180000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'predictions',
      new TableColumn({ name: 'protocol', type: 'varchar', length: '16', isNullable: false, default: "'rest'" }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('predictions', 'protocol');
  }
}

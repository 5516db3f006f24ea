import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { idColumn, timestampColumns, uuidRefColumn } from './helpers';

export class CreateRegistry1764140000000 implements MigrationInterface {
  name = 'CreateRegistry1764140000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'models',
        columns: [
          idColumn(queryRunner),
          { name: 'name', type: 'varchar', length: '64', isNullable: false },
          { name: 'description', type: 'text', isNullable: false, default: "''" },
          { name: 'tags', type: 'text', isNullable: false, default: "'[]'" },
          { name: 'aliases', type: 'text', isNullable: false, default: "'{}'" },
          { name: 'version_counter', type: 'integer', isNullable: false, default: 0 },
          { name: 'latest_version', type: 'integer', isNullable: true },
          ...timestampColumns(queryRunner),
        ],
      }),
    );
    await queryRunner.createIndex(
      'models',
      new TableIndex({ name: 'UQ_models_name', columnNames: ['name'], isUnique: true }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'model_versions',
        columns: [
          idColumn(queryRunner),
          uuidRefColumn(queryRunner, 'model_id'),
          { name: 'version', type: 'integer', isNullable: false },
          { name: 'status', type: 'varchar', length: '16', isNullable: false },
          { name: 'description', type: 'text', isNullable: false, default: "''" },
          { name: 'sha256', type: 'varchar', length: '64', isNullable: false },
          { name: 'storage_key', type: 'varchar', length: '255', isNullable: false },
          { name: 'size_bytes', type: 'bigint', isNullable: false },
          { name: 'ir_version', type: 'integer', isNullable: false },
          { name: 'opset_version', type: 'integer', isNullable: false },
          { name: 'producer_name', type: 'varchar', length: '255', isNullable: false, default: "''" },
          { name: 'producer_version', type: 'varchar', length: '255', isNullable: false, default: "''" },
          { name: 'inputs', type: 'text', isNullable: false },
          { name: 'outputs', type: 'text', isNullable: false },
          ...timestampColumns(queryRunner),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_model_versions_model',
            columnNames: ['model_id'],
            referencedTableName: 'models',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createIndex(
      'model_versions',
      new TableIndex({ name: 'UQ_model_versions_model_version', columnNames: ['model_id', 'version'], isUnique: true }),
    );
    await queryRunner.createIndex(
      'model_versions',
      new TableIndex({ name: 'IDX_model_versions_sha256', columnNames: ['sha256'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('model_versions');
    await queryRunner.dropTable('models');
  }
}

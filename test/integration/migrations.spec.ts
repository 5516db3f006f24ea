import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { ALL_MIGRATIONS } from '../../migrations';
import { ModelBatching1764170000000 } from '../../migrations/1764170000000-ModelBatching';
import { AppConfig } from '../../src/config/app-config';
import { loadEnvironment } from '../../src/config/environment';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { createPostgresDatabase, testEngines, TestDatabase } from '../support/postgres';

async function tableNames(ds: DataSource): Promise<string[]> {
  const rows: { name: string }[] =
    ds.options.type === 'postgres'
      ? await ds.query(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`)
      : await ds.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`);
  return rows.map((r) => r.name).sort();
}

async function indexNames(ds: DataSource): Promise<string[]> {
  const rows: { name: string }[] =
    ds.options.type === 'postgres'
      ? await ds.query(`SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'`)
      : await ds.query(`SELECT name FROM sqlite_master WHERE type = 'index'`);
  return rows.map((r) => r.name);
}

for (const engine of testEngines()) {
  describe(`migrations on an empty ${engine} database`, () => {
    let ds: DataSource;
    let database: TestDatabase | undefined;
    let dataDir: string;

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-mig-'));
      if (engine === 'postgres') database = await createPostgresDatabase();
      const config = new AppConfig(
        loadEnvironment({ DATA_DIR: dataDir, ...(database ? { DATABASE_URL: database.url } : {}) }),
      );
      ds = new DataSource({ ...buildDataSourceOptions(config), migrationsRun: false });
      await ds.initialize();
    });
    after(async () => {
      await ds?.destroy();
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('starts empty', async () => {
      assert.deepEqual(await tableNames(ds), []);
    });

    it('runs every migration up and creates the registry schema with its unique indexes', async () => {
      const applied = await ds.runMigrations({ transaction: 'each' });
      assert.equal(applied.length, ALL_MIGRATIONS.length);
      const tables = await tableNames(ds);
      for (const table of ['models', 'model_versions', 'migrations']) assert.ok(tables.includes(table), table);
      const indexes = await indexNames(ds);
      assert.ok(indexes.includes('UQ_models_name'));
      assert.ok(indexes.includes('UQ_model_versions_model_version'));
      assert.equal(await ds.showMigrations(), false, 'nothing left pending');
    });

    it('enforces the unique indexes', async () => {
      const id = '11111111-1111-4111-8111-111111111111';
      await ds.query(`INSERT INTO models (id, name) VALUES ('${id}', 'dup')`);
      await assert.rejects(
        ds.query(`INSERT INTO models (id, name) VALUES ('22222222-2222-4222-8222-222222222222', 'dup')`),
      );
      const version = `INSERT INTO model_versions (id, model_id, version, status, sha256, storage_key, size_bytes, ir_version, opset_version, inputs, outputs)
        VALUES ($ID, '${id}', 1, 'ready', 'abc', 'k', 1, 8, 17, '[]', '[]')`;
      await ds.query(version.replace('$ID', "'33333333-3333-4333-8333-333333333333'"));
      await assert.rejects(ds.query(version.replace('$ID', "'44444444-4444-4444-8444-444444444444'")));
      await ds.query(`DELETE FROM models WHERE id = '${id}'`);
      const rows = await ds.query('SELECT COUNT(*) AS n FROM model_versions');
      assert.equal(Number(rows[0].n), 0, 'versions cascade with their model');
    });

    it('gives a model stored before ModelBatching batching off, its other settings following the defaults', async () => {
      const since = ALL_MIGRATIONS.length - ALL_MIGRATIONS.indexOf(ModelBatching1764170000000);
      for (let i = 0; i < since; i++) await ds.undoLastMigration({ transaction: 'each' });
      const id = '55555555-5555-4555-8555-555555555555';
      await ds.query(`INSERT INTO models (id, name) VALUES ('${id}', 'older')`);
      assert.equal((await ds.runMigrations({ transaction: 'each' })).length, since);
      const [row] = await ds.query(
        `SELECT batching_enabled, batching_max_batch_size, batching_max_queue_delay_ms, batching_preferred_batch_sizes
         FROM models WHERE id = '${id}'`,
      );
      assert.deepEqual(
        [
          Boolean(row.batching_enabled),
          row.batching_max_batch_size,
          row.batching_max_queue_delay_ms,
          row.batching_preferred_batch_sizes,
        ],
        [false, null, null, null],
      );
      await ds.query(`DELETE FROM models WHERE id = '${id}'`);
    });

    it('reverts every migration down to an empty schema, then up again', async () => {
      for (let i = 0; i < ALL_MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
      assert.deepEqual(await tableNames(ds), ['migrations']);
      const again = await ds.runMigrations({ transaction: 'each' });
      assert.equal(again.length, ALL_MIGRATIONS.length);
    });
  });
}

const DATA_SOURCE_JS = path.resolve(__dirname, '../../src/database/data-source.js');
const TYPEORM_CLI = require.resolve('typeorm/cli.js');

/** Runs README's `npm run migration:<command>` step: the TypeORM CLI on the compiled data source. */
function migrationCli(command: 'run' | 'revert', env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [TYPEORM_CLI, `migration:${command}`, '-d', DATA_SOURCE_JS],
      {
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'production',
          ...(process.env.NODE_V8_COVERAGE ? { NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE } : {}),
          ...env,
        },
      },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

for (const engine of testEngines()) {
  describe(`the migration commands (npm run migration:run / migration:revert) on ${engine}`, () => {
    let database: TestDatabase | undefined;
    let dataDir: string;
    let env: Record<string, string>;

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-mig-cli-'));
      if (engine === 'postgres') database = await createPostgresDatabase();
      env = { DATA_DIR: dataDir, ...(database ? { DATABASE_URL: database.url } : {}) };
    });
    after(async () => {
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    async function applied(): Promise<string[]> {
      const config = new AppConfig(loadEnvironment(env));
      const ds = new DataSource({ ...buildDataSourceOptions(config), migrationsRun: false });
      await ds.initialize();
      try {
        const rows: { name: string }[] = await ds.query('SELECT name FROM migrations ORDER BY timestamp');
        return rows.map((r) => r.name);
      } finally {
        await ds.destroy();
      }
    }

    it('runs every migration with the configuration of the environment, then reverts the last one', async () => {
      const names = ALL_MIGRATIONS.map((m) => m.name);
      assert.match(await migrationCli('run', env), new RegExp(`${names.at(-1)} has been executed successfully`));
      assert.deepEqual(await applied(), names);
      assert.match(await migrationCli('run', env), /No migrations are pending/);
      await migrationCli('revert', env);
      assert.deepEqual(await applied(), names.slice(0, -1));
    });

    it('fails on a configuration the service would refuse, naming the variable', async () => {
      await assert.rejects(migrationCli('run', { ...env, DATABASE_URL: 'mysql://nowhere/db' }), /DATABASE_URL/);
    });
  });
}

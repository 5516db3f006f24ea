import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { waitFor } from '../../test/support/wait-for';
import { AppConfig } from '../config/app-config';
import { loadEnvironment } from '../config/environment';
import { buildDataSourceOptions } from './data-source-options';
import { SqliteCheckpointer } from './sqlite-checkpointer';

/** A SQLite database in WAL mode under a fresh DATA_DIR, and the warnings logged meanwhile. */
async function sqlite(t: TestContext): Promise<{ ds: DataSource; config: AppConfig; warnings: string[] }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-ckpt-'));
  const config = new AppConfig(loadEnvironment({ DATA_DIR: dataDir }));
  const ds = new DataSource({ ...buildDataSourceOptions(config), migrationsRun: false, entities: [] });
  await ds.initialize();
  t.after(async () => {
    if (ds.isInitialized) await ds.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const warnings: string[] = [];
  t.mock.method(Logger.prototype, 'warn', (entry: { msg: string }) => warnings.push(entry.msg));
  return { ds, config, warnings };
}

async function autoCheckpointPages(ds: DataSource): Promise<number> {
  const [{ wal_autocheckpoint: pages }] = (await ds.query('PRAGMA wal_autocheckpoint')) as {
    wal_autocheckpoint: number;
  }[];
  return pages;
}

/** The checkpoint thread, to end it the way a crash would. */
function threadOf(checkpointer: SqliteCheckpointer): Worker {
  return (checkpointer as unknown as { worker: Worker }).worker;
}

describe('SqliteCheckpointer', () => {
  it('moves checkpoints to its thread while it runs, and gives them back to the connection at shutdown', async (t) => {
    const { ds, config, warnings } = await sqlite(t);
    const checkpointer = new SqliteCheckpointer(ds, config);
    await checkpointer.onApplicationBootstrap();
    assert.equal(checkpointer.active, true);
    assert.equal(await autoCheckpointPages(ds), 0);
    await checkpointer.onApplicationShutdown();
    assert.equal(checkpointer.active, false);
    assert.equal(await autoCheckpointPages(ds), 1000);
    await checkpointer.onApplicationShutdown(); // a second stop has nothing to do
    assert.deepEqual(warnings, []);
  });

  it('a thread that ends on its own gives the checkpoints back to the connection, with a warning', async (t) => {
    const { ds, config, warnings } = await sqlite(t);
    const checkpointer = new SqliteCheckpointer(ds, config);
    await checkpointer.onApplicationBootstrap();
    const thread = threadOf(checkpointer);
    const exited = once(thread, 'exit');
    await thread.terminate();
    await exited;
    assert.equal(checkpointer.active, false);
    await waitFor(async () => (await autoCheckpointPages(ds)) === 1000, { what: 'wal_autocheckpoint back to 1000' });
    assert.deepEqual(warnings, ['SQLite checkpoint thread ended; the connection checkpoints after commits again']);
    await checkpointer.onApplicationShutdown();
  });

  it('a thread that cannot start leaves the checkpoints on the connection', async (t) => {
    const { ds, config, warnings } = await sqlite(t);
    const missing = {
      ...config,
      database: { ...config.database, sqlitePath: path.join(config.storage.dataDir, 'gone.sqlite') },
    };
    const checkpointer = new SqliteCheckpointer(ds, missing as AppConfig);
    await checkpointer.onApplicationBootstrap();
    assert.equal(checkpointer.active, false);
    assert.equal(await autoCheckpointPages(ds), 1000);
    assert.deepEqual(warnings, ['SQLite checkpoints stay on the HTTP thread']);
  });

  it('a pragma that fails is logged, not thrown', async (t) => {
    const { ds, config, warnings } = await sqlite(t);
    const checkpointer = new SqliteCheckpointer(ds, config);
    await checkpointer.onApplicationBootstrap();
    t.mock.method(ds, 'query', () => Promise.reject(new Error('SQLITE_BUSY')));
    await checkpointer.onApplicationShutdown();
    assert.deepEqual(warnings, ['could not set wal_autocheckpoint']);
  });
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { ALL_MIGRATIONS } from '../../migrations';
import type { AppConfig } from '../config/app-config';

export type DatabaseEngine = 'postgres' | 'sqlite';

/**
 * Every feature's entities, found by their place: `src/<feature>/entities/*.entity.ts`. The
 * database module names no feature, and no feature imports another's entities (eslint).
 */
export const ENTITY_FILES = path.join(__dirname, '..', '*', 'entities', '*.entity.{js,ts}');

/**
 * PostgreSQL when DATABASE_URL is set, embedded SQLite under DATA_DIR otherwise. The schema comes
 * only from the migrations; `synchronize` is never on.
 */
export function buildDataSourceOptions(config: Pick<AppConfig, 'database' | 'storage'>): DataSourceOptions {
  const common = {
    entities: [ENTITY_FILES],
    migrations: ALL_MIGRATIONS,
    migrationsRun: config.database.runMigrations,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
  };
  if (config.database.url) {
    return {
      ...common,
      type: 'postgres',
      url: config.database.url,
      extra: { max: config.database.poolSize, connectionTimeoutMillis: 5_000 },
    };
  }
  fs.mkdirSync(config.storage.dataDir, { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.database.sqlitePath,
    enableWAL: true,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
    },
  };
}

export function engineOf(options: DataSourceOptions): DatabaseEngine {
  return options.type === 'postgres' ? 'postgres' : 'sqlite';
}

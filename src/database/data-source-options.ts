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
export function buildDataSourceOptions(
  config: Pick<AppConfig, 'databaseUrl' | 'databasePoolSize' | 'sqlitePath' | 'dataDir' | 'runMigrations'>,
): DataSourceOptions {
  const common = {
    entities: [ENTITY_FILES],
    migrations: ALL_MIGRATIONS,
    migrationsRun: config.runMigrations,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
  };
  if (config.databaseUrl) {
    return {
      ...common,
      type: 'postgres',
      url: config.databaseUrl,
      extra: { max: config.databasePoolSize, connectionTimeoutMillis: 5_000 },
    };
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.sqlitePath,
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

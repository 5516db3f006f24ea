import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { getDataSourceToken } from '@nestjs/typeorm';
import pino from 'pino';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { AppConfig } from '../../src/config/app-config';
import { loadEnvironment } from '../../src/config/environment';
import { JobHooks } from '../../src/jobs/job-hooks';
import { TEST_ADMIN_KEY } from './credentials';
import { gateHook, JobGate } from './job-gate';
import { createPostgresDatabase, Engine, TestDatabase } from './postgres';

export { TEST_ADMIN_KEY };

export interface TestApp {
  engine: Engine;
  /** The PostgreSQL database the app uses (undefined on SQLite). */
  databaseUrl?: string;
  /** The app's ADMIN_API_KEY (an admin credential). */
  adminKey: string;
  app: NestExpressApplication;
  config: AppConfig;
  dataDir: string;
  dataSource: DataSource;
  /** Base URL when started with `listen: true`. */
  baseUrl?: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  listen?: boolean;
  /** The root logger (default: pino to stdout at TEST_LOG_LEVEL), to capture what the server logs. */
  logger?: pino.Logger;
  /** Drives the app's JobHooks, so tests hold or fail job attempts at chunk boundaries. */
  jobGate?: JobGate;
  /**
   * PostgreSQL only: use this existing database (another app's `databaseUrl`) instead of a new
   * one, as a second replica would; `close()` then leaves it to its owner.
   */
  databaseUrl?: string;
}

/** A root logger whose lines (parsed JSON) land in `lines`, at `level` and above. */
export function capturingLogger(level: pino.Level = 'info'): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** The real application on a fresh database of the given engine and a fresh DATA_DIR. */
export async function startTestApp(engine: Engine, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-test-'));
  let database: TestDatabase | undefined;
  if (options.databaseUrl !== undefined && engine !== 'postgres')
    throw new Error('databaseUrl needs the postgres engine');
  if (engine === 'postgres' && options.databaseUrl === undefined) database = await createPostgresDatabase();
  const databaseUrl = options.databaseUrl ?? database?.url;
  const config = new AppConfig(
    loadEnvironment({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      LOG_FORMAT: 'json',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      // No gRPC server unless a spec asks for one (on a port of its own): specs run in parallel.
      GRPC_PORT: '0',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...options.env,
    }),
  );
  const app = await createApp(config, options.logger ?? pino({ level: config.log.level }));
  // Providers exist from here on, but nothing has started: no job can run before the gate is in.
  if (options.jobGate) app.get(JobHooks).beforeChunk = gateHook(options.jobGate.dir);
  let baseUrl: string | undefined;
  if (options.listen) {
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
    baseUrl = baseUrl.replace('[::1]', '127.0.0.1');
  } else {
    await app.init();
  }
  const dataSource = app.get<DataSource>(getDataSourceToken());
  return {
    engine,
    databaseUrl,
    adminKey: config.auth.adminApiKey ?? TEST_ADMIN_KEY,
    app,
    config,
    dataDir,
    dataSource,
    baseUrl,
    async close() {
      await app.close();
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The `Authorization` header value of a credential. */
export function bearer(credential: string): string {
  return `Bearer ${credential}`;
}

/** supertest against the app, every request sending `credential` (default: the admin key). */
export function authed(t: TestApp, credential: string = t.adminKey): request.Agent {
  return request.agent(t.app.getHttpServer()).set('Authorization', bearer(credential));
}

/** supertest against the app with no credential (public routes, 401 checks). */
export function anonymous(t: TestApp): request.Agent {
  return request(t.app.getHttpServer());
}

/** Every file below a directory, relative to it (to prove nothing was left behind). */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

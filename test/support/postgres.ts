import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export type Engine = 'sqlite' | 'postgres';

/** The database every test database is created from; .ci/run points it at a fresh one. */
export const POSTGRES_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Both engines unless TEST_POSTGRES=off. PostgreSQL is never skipped silently: when it is
 * expected and unreachable, the suite fails with the reason.
 */
export function testEngines(): Engine[] {
  return process.env.TEST_POSTGRES === 'off' ? ['sqlite'] : ['sqlite', 'postgres'];
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    const where = new URL(POSTGRES_ADMIN_URL);
    throw new Error(
      `PostgreSQL is expected at ${where.host}${where.pathname} but is unreachable: ${(error as Error).message}. ` +
        'Start it (see README) or set TEST_POSTGRES=off to run only the SQLite suite.',
      { cause: error },
    );
  }
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty PostgreSQL database for one test file. */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `mf_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    url: withDatabase(POSTGRES_ADMIN_URL, name),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

import assert from 'node:assert/strict';
import type { Role } from '../../src/auth/roles';
import { authed, type TestApp } from './test-app';

/** Helpers of the audit and key-scope suites. */

export interface CreatedKey {
  id: string;
  key: string;
  /** The actor recorded for it: `key:<id>`. */
  actor: string;
}

/** An API key created through POST /api/v1/auth/keys as admin. */
export async function createKey(
  t: TestApp,
  body: { name: string; role: Role; models?: string[]; rateLimitPerMinute?: number },
): Promise<CreatedKey> {
  const res = await authed(t).post('/api/v1/auth/keys').send(body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const { id, key } = res.body as { id: string; key: string };
  return { id, key, actor: `key:${id}` };
}

export interface AuditItem {
  id: string;
  at: string;
  actor: string;
  actorName: string;
  action: string;
  target: string;
  requestId: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditPage {
  items: AuditItem[];
  total: number;
  skip: number;
  limit: number;
}

/** GET /api/v1/audit as admin with the given query. */
export async function auditPage(t: TestApp, query: Record<string, string | number> = {}): Promise<AuditPage> {
  const res = await authed(t).get('/api/v1/audit').query(query);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as AuditPage;
}

/**
 * Makes the database itself refuse audit events of `action` (a CHECK constraint on PostgreSQL,
 * a trigger on SQLite), so the audit insert of such a write fails for real. Answers the undo.
 */
export async function refuseAuditEvents(t: TestApp, action: string): Promise<() => Promise<void>> {
  assert.match(action, /^[a-z.]+$/);
  if (t.engine === 'postgres') {
    await t.dataSource.query(
      `ALTER TABLE audit_events ADD CONSTRAINT test_refuse_audit CHECK (action <> '${action}') NOT VALID`,
    );
    return async () => {
      await t.dataSource.query('ALTER TABLE audit_events DROP CONSTRAINT test_refuse_audit');
    };
  }
  await t.dataSource.query(
    `CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events WHEN NEW.action = '${action}' ` +
      `BEGIN SELECT RAISE(ABORT, 'audit event refused by the test'); END`,
  );
  return async () => {
    await t.dataSource.query('DROP TRIGGER test_refuse_audit');
  };
}

/**
 * Makes every transaction that writes `table` (`event`) fail at COMMIT, after all its statements
 * ran: a trigger on the table adds a row that breaks a deferred foreign key. Whatever else the
 * transaction wrote (the audit event) must be gone with it; a write made on another connection
 * or after the commit would remain. Answers the undo.
 */
export async function failAtCommit(
  t: TestApp,
  table: 'models' | 'model_versions',
  event: 'INSERT' | 'UPDATE' | 'DELETE',
): Promise<() => Promise<void>> {
  const run = async (statements: string[]) => {
    for (const sql of statements) await t.dataSource.query(sql);
  };
  await run([
    'CREATE TABLE test_commit_parent (id INTEGER PRIMARY KEY)',
    'CREATE TABLE test_commit_guard (parent INTEGER REFERENCES test_commit_parent(id) DEFERRABLE INITIALLY DEFERRED)',
  ]);
  if (t.engine === 'postgres') {
    await run([
      'CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS ' +
        '$$ BEGIN INSERT INTO test_commit_guard VALUES (1); RETURN NULL; END $$',
      `CREATE TRIGGER test_fail_at_commit AFTER ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION test_fail_at_commit()`,
    ]);
  } else {
    await run([
      `CREATE TRIGGER test_fail_at_commit AFTER ${event} ON ${table} BEGIN INSERT INTO test_commit_guard VALUES (1); END`,
    ]);
  }
  return async () => {
    await run([
      t.engine === 'postgres' ? `DROP TRIGGER test_fail_at_commit ON ${table}` : 'DROP TRIGGER test_fail_at_commit',
      ...(t.engine === 'postgres' ? ['DROP FUNCTION test_fail_at_commit()'] : []),
      'DROP TABLE test_commit_guard',
      'DROP TABLE test_commit_parent',
    ]);
  };
}

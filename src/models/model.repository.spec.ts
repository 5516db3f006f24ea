import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { ALL_MIGRATIONS } from '../../migrations';
import { AuditService } from '../auth/audit/audit.service';
import type { Caller } from '../auth/caller';
import { AUTH_DISABLED_PRINCIPAL } from '../auth/principal';
import { ModelNotFoundError } from '../common/errors';
import { ENTITY_FILES } from '../database/data-source-options';
import { ModelVersionRepository, NewVersion } from './model-version.repository';
import { ModelRepository, NewModel } from './model.repository';
import type { AuditRecord } from './registry-audit';
import { modelRow, versionRow } from '../../test/support/registry-rows';

const caller: Caller = { principal: AUTH_DISABLED_PRINCIPAL, requestId: 'unit' };

function audited(action: string, target: string, details?: Record<string, unknown>): AuditRecord {
  return { caller, entry: { action, target, details } };
}

function newModel(name: string, fields: Partial<NewModel> = {}): NewModel {
  const { id: _id, createdAt: _created, updatedAt: _updated, ...row } = modelRow(name, fields);
  return row;
}

/** A ready version whose bytes are `sha` (one character, repeated) under `key-<sha>`. */
function newVersion(sha: string, fields: Partial<NewVersion> = {}): NewVersion {
  const {
    id: _id,
    modelId: _model,
    version: _version,
    createdAt: _c,
    updatedAt: _u,
    ...row
  } = versionRow(modelRow('any'), 1, { sha256: sha.repeat(64), storageKey: `key-${sha}`, ...fields });
  return row;
}

/** The registry's repositories over a real in-memory SQLite database, migrated as in production. */
describe('ModelRepository and ModelVersionRepository', () => {
  let ds: DataSource;
  let models: ModelRepository;
  let versions: ModelVersionRepository;

  /** The audit rows of `target`, oldest first (read with SQL: the auth feature owns the table). */
  async function auditRows(target: string): Promise<{ action: string; details: unknown; request_id: string }[]> {
    const rows = await ds.query<{ action: string; details: string | null; request_id: string }[]>(
      'SELECT action, details, request_id FROM audit_events WHERE target = ? ORDER BY at, action',
      [target],
    );
    return rows.map((row) => ({ ...row, details: row.details === null ? null : JSON.parse(row.details) }));
  }

  async function addVersion(model: string, sha: string, fields: Partial<NewVersion> = {}) {
    const row = await models.getByName(model);
    return versions.insert(row, newVersion(sha, fields), (v) => audited('version.create', `version:${model}/${v}`));
  }

  before(async () => {
    ds = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: [ENTITY_FILES],
      migrations: ALL_MIGRATIONS,
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('foreign_keys = ON');
      },
    });
    await ds.initialize();
    await ds.runMigrations();
    const audit = new AuditService();
    models = new ModelRepository(ds, audit);
    versions = new ModelVersionRepository(ds, audit);
  });
  after(() => ds.destroy());

  it('inserts a model with its audit event, and answers undefined for a name taken', async () => {
    const created = await models.insert(newModel('alpha'), audited('model.create', 'model:alpha', { tags: [] }));
    assert.equal(created?.name, 'alpha');
    assert.equal(await models.insert(newModel('alpha'), audited('model.create', 'model:alpha')), undefined);
    assert.deepEqual(await auditRows('model:alpha'), [
      { action: 'model.create', details: { tags: [] }, request_id: 'unit' },
    ]);
    assert.equal(await models.exists('alpha'), true);
    await assert.rejects(models.getByName('missing'), ModelNotFoundError);
  });

  it('filters and pages the list in SQL, escaping LIKE wildcards in patterns, search and tags', async () => {
    await models.insert(newModel('a_b1', { description: 'Beta tester', tags: ['y'] }), audited('x', 'model:a_b1'));
    await models.insert(newModel('axb1', { tags: ['y%'] }), audited('x', 'model:axb1'));
    await models.insert(newModel('beta'), audited('x', 'model:beta'));
    const names = async (filter: Partial<Parameters<ModelRepository['page']>[0]>) => {
      const [rows, total] = await models.page({ patterns: null, skip: 0, limit: 20, ...filter });
      return { names: rows.map((m) => m.name), total };
    };
    assert.deepEqual(await names({ patterns: ['a_b*'] }), { names: ['a_b1'], total: 1 });
    assert.deepEqual(await names({ patterns: [] }), { names: [], total: 0 });
    assert.deepEqual(await names({ q: 'BETA', limit: 1 }), { names: ['a_b1'], total: 2 });
    assert.deepEqual(await names({ q: '_' }), { names: ['a_b1'], total: 1 });
    assert.deepEqual(await names({ tag: 'y' }), { names: ['a_b1'], total: 1 });
    assert.deepEqual(await names({ tag: 'y%' }), { names: ['axb1'], total: 1 });
  });

  it('numbers versions without reusing a number, keeps latest on the highest ready one, and audits each', async () => {
    await models.insert(newModel('gamma'), audited('model.create', 'model:gamma'));
    const v1 = await addVersion('gamma', 'a');
    const v2 = await addVersion('gamma', 'b');
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    assert.equal((await models.getByName('gamma')).latestVersion, 2);

    // v2's bytes are not used elsewhere: the delete hands them back; latest falls back to 1.
    assert.deepEqual(await versions.delete(v2, audited('version.delete', 'version:gamma/2')), [
      { sha256: 'b'.repeat(64), storageKey: 'key-b' },
    ]);
    assert.equal((await models.getByName('gamma')).latestVersion, 1);
    assert.equal((await addVersion('gamma', 'c')).version, 3);
    assert.deepEqual(
      (await auditRows('version:gamma/2')).map((r) => r.action),
      ['version.create', 'version.delete'],
    );
    const [page, total] = await versions.page((await models.getByName('gamma')).id, 0, 1);
    assert.deepEqual([page.map((v) => v.version), total], [[3], 2]);
  });

  it('hands back only the artifacts no other version uses, on a version delete and a model delete', async () => {
    await models.insert(newModel('delta'), audited('model.create', 'model:delta'));
    await models.insert(newModel('epsilon'), audited('model.create', 'model:epsilon'));
    const shared = await addVersion('delta', 'd');
    await addVersion('delta', 'e');
    await addVersion('epsilon', 'd');
    assert.deepEqual(await versions.delete(shared, audited('version.delete', 'version:delta/1')), []);
    assert.equal(await versions.isUsed('d'.repeat(64)), true);

    const delta = await models.getByName('delta');
    const remaining = await versions.forModel(delta.id);
    const released = await models.delete(delta, remaining, audited('model.delete', 'model:delta', { versions: [2] }));
    assert.deepEqual(released, [{ sha256: 'e'.repeat(64), storageKey: 'key-e' }]);
    assert.deepEqual(await versions.forModel(delta.id), [], 'the versions went with the model');
    await assert.rejects(models.getByName('delta'), ModelNotFoundError);
    assert.deepEqual(await auditRows('model:delta'), [
      { action: 'model.create', details: null, request_id: 'unit' },
      { action: 'model.delete', details: { versions: [2] }, request_id: 'unit' },
    ]);
  });

  it('finds a version with its model by id, and nothing once it is gone', async () => {
    await models.insert(newModel('zeta', { logPayloads: true }), audited('model.create', 'model:zeta'));
    const v1 = await addVersion('zeta', 'f');
    const found = await versions.findWithModel(v1.id);
    assert.equal(found?.model.name, 'zeta');
    assert.equal(found?.model.logPayloads, true);
    assert.equal(found?.version.sha256, 'f'.repeat(64));
    await versions.delete(v1, audited('version.delete', 'version:zeta/1'));
    assert.equal(await versions.findWithModel(v1.id), null);
  });

  it('refuses a version for a model deleted meanwhile, and writes nothing', async () => {
    await models.insert(newModel('eta'), audited('model.create', 'model:eta'));
    const eta = await models.getByName('eta');
    await models.delete(eta, [], audited('model.delete', 'model:eta'));
    await assert.rejects(
      versions.insert(eta, newVersion('9'), (v) => audited('version.create', `version:eta/${v}`)),
      ModelNotFoundError,
    );
    assert.deepEqual(await auditRows('version:eta/1'), []);
  });

  it('records an audit event that changes no row, and lists the newest ready versions', async () => {
    await models.record(audited('model.cache.clear', 'model:alpha'));
    assert.deepEqual(
      (await auditRows('model:alpha')).map((r) => r.action),
      ['model.create', 'model.cache.clear'],
    );
    await models.insert(newModel('theta'), audited('model.create', 'model:theta'));
    await addVersion('theta', '7', { status: 'failed' });
    const recent = await versions.recentReady(100);
    assert.ok(recent.length > 0);
    assert.ok(recent.every((v) => v.status === 'ready'));
    assert.equal(
      recent.some((v) => v.sha256 === '7'.repeat(64)),
      false,
    );
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildOpenApiDocument } from '../../src/openapi';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * docs/api.md, the HTTP contract in the repository, against the OpenAPI document the service
 * serves: its route table must list exactly the document's operations, each with the roles the
 * document requires.
 */

const API_MD = fs.readFileSync(path.resolve(__dirname, '../../../docs/api.md'), 'utf8');
const ROLES = ['admin', 'maintainer', 'predictor', 'viewer'];
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

interface Row {
  /** `GET /api/v1/models`, as the document would name the operation. */
  operation: string;
  roles: string[];
}

/** The `| METHOD | `/path` | ... |` rows of one `## ` section of docs/api.md. */
function rowsOf(section: string): Row[] {
  const start = API_MD.indexOf(`\n## ${section}\n`);
  assert.ok(start >= 0, `docs/api.md has no section "## ${section}"`);
  const end = API_MD.indexOf('\n## ', start + 1);
  const text = API_MD.slice(start, end === -1 ? undefined : end);
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const [, method, pathCell, rolesCell] = cells;
    if (!method || !METHODS.includes(method.toLowerCase())) continue;
    const routePath = /^`([^`]+)`$/.exec(pathCell)?.[1];
    assert.ok(routePath, `docs/api.md, ${section}: the path of "${line}" is not one \`path\``);
    const roles = rolesCell.startsWith('public')
      ? []
      : ROLES.filter((role) => new RegExp(`\\b${role}\\b`).test(rolesCell));
    rows.push({ operation: `${method.toUpperCase()} ${routePath}`, roles });
  }
  return rows;
}

describe('docs/api.md', () => {
  let t: TestApp;
  /** Every operation of the OpenAPI document with its x-required-roles. */
  const documented = new Map<string, string[]>();

  before(async () => {
    t = await startTestApp('sqlite');
    const document = buildOpenApiDocument(t.app);
    for (const [routePath, operations] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = (operations as Record<string, { 'x-required-roles'?: string[] } | undefined>)[method];
        if (operation) documented.set(`${method.toUpperCase()} ${routePath}`, operation['x-required-roles'] ?? []);
      }
    }
  });
  after(async () => {
    await t?.close();
  });

  it('lists every operation of the OpenAPI document in its route table, and no other', () => {
    const listed = rowsOf('Routes').map((row) => row.operation);
    assert.equal(new Set(listed).size, listed.length, 'an operation is listed twice');
    const missing = [...documented.keys()].filter((operation) => !listed.includes(operation));
    const extra = listed.filter((operation) => !documented.has(operation));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
    assert.ok(documented.size >= 30, `the document has only ${documented.size} operations`);
  });

  it('names for each operation the roles the document requires', () => {
    for (const { operation, roles } of rowsOf('Routes')) {
      assert.deepEqual([...roles].sort(), [...(documented.get(operation) ?? [])].sort(), operation);
    }
  });
});

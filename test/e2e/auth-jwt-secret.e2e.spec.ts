import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, TEST_PASSWORD } from '../support/auth-helpers';
import { TEST_JWT_SECRET } from '../support/credentials';
import { spawnService } from '../support/service-process';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * JWT_SECRET at start (dist/src/main.js, NODE_ENV=production unless said otherwise): required in
 * production once a user exists, otherwise a per-process key and a warning. The services open
 * the SQLite database of a test app that holds one user.
 */
describe('JWT_SECRET at start', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp('sqlite');
    await createUser(t, 'alice', 'viewer');
  });
  after(async () => {
    await t?.close();
  });

  async function loginStatus(baseUrl: string): Promise<number> {
    const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: TEST_PASSWORD }),
    });
    return res.status;
  }

  it('stops a production start with a stored user and no JWT_SECRET: the config error line, exit code 2', async () => {
    const service = await spawnService({ DATA_DIR: t.dataDir }, false);
    const { code } = await service.exited;
    const stderr = service.stderr();
    await service.stop();
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^config error: JWT_SECRET: required in production once users exist$/m);
    assert.doesNotMatch(stderr, /failed to start|at .*\.js:\d+/, 'one clear line, no stack');
  });

  it('starts in production with a stored user and JWT_SECRET, and logs in', async () => {
    const service = await spawnService({ DATA_DIR: t.dataDir, JWT_SECRET: TEST_JWT_SECRET });
    try {
      assert.equal(await loginStatus(service.baseUrl), 200);
      assert.doesNotMatch(service.stdout(), /JWT_SECRET is not set/);
    } finally {
      await service.stop();
    }
  });

  it('starts in production without users and without JWT_SECRET, warning once', async () => {
    const service = await spawnService({});
    try {
      const warnings = service.stdout().match(/JWT_SECRET is not set/g) ?? [];
      assert.equal(warnings.length, 1, service.stdout());
      assert.match(service.stdout(), /Set JWT_SECRET before creating users/);
    } finally {
      await service.stop();
    }
  });

  it('starts outside production with a stored user and no JWT_SECRET: a per-process key, warned once', async () => {
    const service = await spawnService({ DATA_DIR: t.dataDir, NODE_ENV: 'development' });
    try {
      assert.equal(await loginStatus(service.baseUrl), 200);
      const warnings = service.stdout().match(/JWT_SECRET is not set/g) ?? [];
      assert.equal(warnings.length, 1, service.stdout());
    } finally {
      await service.stop();
    }
  });
});

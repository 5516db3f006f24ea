/**
 * The first start of the built service as users run it: with no ADMIN_API_KEY and an empty store
 * it prints an admin key once, on stdout, outside the JSON log stream; later starts print none.
 * Weak secrets stop the start with the variable's config error, never its value.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { whoAmI } from '../support/auth-helpers';
import { ServiceProcess, spawnService } from '../support/service-process';
import { waitFor } from '../support/wait-for';

const PRINTED_KEY = /^ +(mf_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43})$/gm;

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

describe('bootstrap admin key (first start, no ADMIN_API_KEY)', () => {
  let dataDir: string;
  const services: ServiceProcess[] = [];

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bootstrap-'));
  });
  after(async () => {
    for (const service of services) await service.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  let printedKey: string;

  it('prints an admin key once on stdout, in a banner outside the JSON log, and the key works', async () => {
    const first = await spawnService({ ADMIN_API_KEY: '' }, { dataDir });
    services.push(first);
    const stdout = await waitFor(() => (first.stdout().includes('first start') ? first.stdout() : undefined), {
      what: 'the bootstrap banner',
    });
    const printed = [...stdout.matchAll(PRINTED_KEY)].map((m) => m[1]);
    assert.equal(printed.length, 1, stdout);
    printedKey = printed[0];
    const lines = stdout.split('\n').filter((line) => line.includes(printedKey));
    assert.equal(lines.length, 1, 'the key is printed exactly once');
    assert.ok(!isJson(lines[0]), 'the key is not in a JSON log line');
    assert.ok(!first.stderr().includes(printedKey), 'the key is not on stderr');
    // The JSON log says a key was made and names its public prefix only.
    const logged = stdout
      .split('\n')
      .filter(isJson)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.msg === 'Created the bootstrap admin API key');
    assert.ok(logged, 'the creation is logged');
    assert.equal(logged.prefix, printedKey.slice(0, 11));

    const me = await whoAmI(first.baseUrl, printedKey);
    assert.equal(me.status, 200);
    assert.equal((me.body as { role: string }).role, 'admin');
    assert.equal((me.body as { name: string }).name, 'bootstrap-admin');
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
  });

  it('prints no key on the next start on the same DATA_DIR, and the printed key still works', async () => {
    assert.ok(printedKey, 'the first start printed a key');
    const second = await spawnService({ ADMIN_API_KEY: '' }, { dataDir });
    services.push(second);
    const me = await whoAmI(second.baseUrl, printedKey);
    assert.equal(me.status, 200);
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
    const output = second.stdout() + second.stderr();
    assert.ok(!/mf_[A-Za-z0-9]{8}_/.test(output), `a key was printed again:\n${output}`);
    assert.ok(!output.includes('first start'), 'the banner was printed again');
  });
});

describe('weak auth secrets stop the start', () => {
  for (const [variable, value] of [
    ['ADMIN_API_KEY', 'short-key1'],
    ['JWT_SECRET', 'jwt-secret-of-20-chr'],
    ['METRICS_TOKEN', 'metrics-token-21-chrs'],
  ] as const) {
    it(`${variable} of ${value.length} characters: exit code 2 and the config error, without the value`, async () => {
      const service = await spawnService({ [variable]: value }, false);
      const { code } = await service.exited;
      const output = service.stdout() + service.stderr();
      await service.stop();
      assert.equal(code, 2, output);
      const errors = output.split('\n').filter((line) => line.startsWith('config error: '));
      assert.equal(errors.length, 1, output);
      assert.match(errors[0], new RegExp(`^config error: ${variable}="<${value.length} characters>": must `));
      assert.ok(!output.includes(value), `the output contains the value:\n${output}`);
      assert.ok(!/\n\s+at /.test(output), `a stack trace was printed:\n${output}`);
    });
  }
});

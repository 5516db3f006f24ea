import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawnService } from '../support/service-process';

/** Finding 11: a bad DATABASE_URL or REDIS_URL at start must not print its password. */
describe('credentials never reach an output', () => {
  const password = 'Sup3r-S3cret-Pw';

  async function startAndCollect(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const service = await spawnService(env, false);
    const { code } = await service.exited;
    const output = service.stdout() + service.stderr();
    await service.stop();
    return { code, output };
  }

  for (const [name, env, expectedCode] of [
    ['a malformed DATABASE_URL', { DATABASE_URL: `postgres://mf:${password}@ bad host/db` }, 2],
    ['a malformed REDIS_URL', { REDIS_URL: `redis://mf:${password}@bad host:6379` }, 2],
    ['an unreachable DATABASE_URL', { DATABASE_URL: `postgres://mf:${password}@127.0.0.1:1/db` }, 1],
    ['a percent-encoded password', { DATABASE_URL: `postgres://mf:${encodeURIComponent('p@ss:w0rd/x')}@ bad/db` }, 2],
  ] as const) {
    it(`${name} stops the service without printing the password`, async () => {
      const { code, output } = await startAndCollect(env);
      assert.equal(code, expectedCode, output);
      assert.ok(output.length > 0, 'the failure is reported');
      for (const secret of [password, 'p@ss:w0rd/x', encodeURIComponent('p@ss:w0rd/x')]) {
        assert.ok(!output.includes(secret), `the output contains the password:\n${output}`);
      }
      if (expectedCode === 2) assert.match(output, /config error: (DATABASE|REDIS)_URL="[a-z]+:\/\/mf:\*\*\*@/);
    });
  }
});

/**
 * Credentials one by one: every way a credential can be missing, malformed, unknown, revoked or
 * expired answers 401 with `WWW-Authenticate: Bearer`, the error body and a message that never
 * quotes what was sent; and API keys keep their promises (secret shown once, only a hash stored,
 * lastUsedAt written in batches, input validated).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuthEvents } from '../../src/auth/auth-events';
import { ApiKeyEntity } from '../../src/auth/entities/api-key.entity';
import { ApiKeysService } from '../../src/auth/keys/api-keys.service';
import { credentialFailureMessage } from '../../src/auth/principal';
import { createKey, revokeKey, whoAmI } from '../support/auth-helpers';
import { shiftClock } from '../support/clock';
import { testEngines } from '../support/postgres';
import { startTestApp, TestApp } from '../support/test-app';

const API_KEY_FIELDS = [
  'createdAt',
  'expiresAt',
  'id',
  'lastUsedAt',
  'models',
  'name',
  'prefix',
  'rateLimitPerMinute',
  'revokedAt',
  'role',
];

interface Refusal {
  status: number;
  wwwAuthenticate: string | null;
  body: Record<string, unknown>;
  text: string;
}

for (const engine of testEngines()) {
  describe(`credentials and API keys (${engine})`, () => {
    let t: TestApp;
    let baseUrl: string;

    before(async () => {
      t = await startTestApp(engine, { listen: true });
      baseUrl = t.baseUrl as string;
    });
    after(async () => {
      await t?.close();
    });

    async function me(headers: Record<string, string>): Promise<Refusal> {
      const res = await fetch(`${baseUrl}/api/v1/auth/me`, { headers });
      const text = await res.text();
      return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: JSON.parse(text), text };
    }

    /** A 401 with the challenge, the error body and the expected message, quoting nothing sent. */
    function assertRefused(answer: Refusal, message: string, sent: string[]): void {
      assert.equal(answer.status, 401, answer.text);
      assert.match(answer.wwwAuthenticate ?? '', /^Bearer\b/);
      assert.deepEqual(Object.keys(answer.body).sort(), ['error', 'message', 'requestId', 'statusCode']);
      assert.equal(answer.body.statusCode, 401);
      assert.equal(answer.body.error, 'Unauthorized');
      assert.equal(answer.body.message, message);
      for (const value of sent) assert.ok(!answer.text.includes(value), `the answer quotes ${value}`);
    }

    it('answers 401 without a credential', async () => {
      assertRefused(await me({}), credentialFailureMessage(undefined), []);
    });

    it('answers 401 to malformed Authorization headers', async () => {
      const malformed = credentialFailureMessage('malformed');
      const cases: [string, string][] = [
        ['Basic', `Basic ${Buffer.from(`admin:${t.adminKey}`).toString('base64')}`],
        ['Bearer with nothing', 'Bearer'],
        ['Bearer and a space', 'Bearer '],
        ['two tokens', `Bearer ${t.adminKey} ${t.adminKey}`],
        ['no scheme', t.adminKey],
      ];
      for (const [name, header] of cases) {
        const answer = await me({ Authorization: header });
        assert.equal(answer.status, 401, name);
        assertRefused(answer, malformed, [t.adminKey]);
      }
    });

    it('answers 401 to an unknown or mangled mf_ key, and to garbage', async () => {
      const real = await createKey(baseUrl, t.adminKey, { name: 'to-mangle', role: 'viewer' });
      const unknown = `mf_Zz9Yy8Xx_${'A'.repeat(43)}`;
      const wrongSecret = `${real.key.slice(0, -1)}${real.key.endsWith('A') ? 'B' : 'A'}`;
      for (const credential of [unknown, wrongSecret]) {
        assertRefused(await me({ Authorization: `Bearer ${credential}` }), credentialFailureMessage('unknown'), [
          credential,
        ]);
      }
      assertRefused(await me({ Authorization: 'Bearer mf_short' }), credentialFailureMessage('malformed'), [
        'mf_short',
      ]);
      assertRefused(await me({ Authorization: 'Bearer not-a-key' }), credentialFailureMessage('unknown'), [
        'not-a-key',
      ]);
    });

    it('accepts an API key in X-API-Key as well as in Authorization', async () => {
      const key = await createKey(baseUrl, t.adminKey, { name: 'header-key', role: 'predictor' });
      const ways: Record<string, string>[] = [{ Authorization: `Bearer ${key.key}` }, { 'X-API-Key': key.key }];
      for (const headers of ways) {
        const answer = await me(headers);
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(answer.body, { kind: 'key', id: key.id, name: 'header-key', role: 'predictor', models: null });
      }
      assertRefused(await me({ 'X-API-Key': 'mf_nope' }), credentialFailureMessage('malformed'), ['mf_nope']);
      assertRefused(
        await me({ 'X-API-Key': `mf_Zz9Yy8Xx_${'B'.repeat(43)}` }),
        credentialFailureMessage('unknown'),
        [],
      );
    });

    it('refuses a revoked key at once (the lookup cache is dropped)', async () => {
      const key = await createKey(baseUrl, t.adminKey, { name: 'to-revoke', role: 'maintainer' });
      assert.equal((await whoAmI(baseUrl, key.key)).status, 200); // now cached
      await revokeKey(baseUrl, t.adminKey, key.id);
      assertRefused(await me({ Authorization: `Bearer ${key.key}` }), credentialFailureMessage('revoked'), [key.key]);
      assertRefused(await me({ 'X-API-Key': key.key }), credentialFailureMessage('revoked'), [key.key]);
      const listed = await (await fetch(`${baseUrl}/api/v1/auth/keys?limit=100`, auth(t.adminKey))).json();
      const row = (listed as { items: { id: string; revokedAt: string | null }[] }).items.find((k) => k.id === key.id);
      assert.ok(row?.revokedAt, 'the list shows when it was revoked');
      // Revoking again changes nothing; an unknown id is a 404.
      await revokeKey(baseUrl, t.adminKey, key.id);
      const missing = await fetch(`${baseUrl}/api/v1/auth/keys/6f1c0d8e-8a41-4c55-9d0a-3f3b8a9c1e2d`, {
        method: 'DELETE',
        ...auth(t.adminKey),
      });
      assert.equal(missing.status, 404);
    });

    it('refuses a key whose expiry was set in the past in the database, once the change is announced', async () => {
      const key = await createKey(baseUrl, t.adminKey, { name: 'to-expire', role: 'viewer' });
      assert.equal((await whoAmI(baseUrl, key.key)).status, 200); // now cached
      await t.dataSource
        .getRepository(ApiKeyEntity)
        .update({ id: key.id }, { expiresAt: new Date(Date.now() - 60_000) });
      // A change made outside the service (by hand, by another replica's code path) is announced
      // the way the service announces its own: the replicas drop their cached row.
      await t.app.get(AuthEvents).publish({ type: 'key.changed', prefix: key.prefix });
      assertRefused(await me({ Authorization: `Bearer ${key.key}` }), credentialFailureMessage('expired'), [key.key]);
    });

    it('refuses a cached key once its expiry passes, without any event', async (ctx) => {
      const clock = shiftClock(ctx);
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      const key = await createKey(baseUrl, t.adminKey, { name: 'expiring', role: 'viewer', expiresAt });
      assert.equal(key.expiresAt, expiresAt);
      assert.equal((await whoAmI(baseUrl, key.key)).status, 200); // cached, with its expiry
      clock.advance(2 * 3_600_000);
      assertRefused(await me({ Authorization: `Bearer ${key.key}` }), credentialFailureMessage('expired'), [key.key]);
    });

    it('shows the secret only in the create response and stores only its SHA-256', async () => {
      const created = await createKey(baseUrl, t.adminKey, {
        name: 'secret-keeper',
        role: 'maintainer',
        models: ['iris', 'fraud-*', 'iris'],
        rateLimitPerMinute: 120,
      });
      assert.deepEqual(Object.keys(created).sort(), [...API_KEY_FIELDS, 'key'].sort());
      assert.match(created.key, /^mf_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.prefix, created.key.slice(0, 11));
      assert.deepEqual(created.models, ['iris', 'fraud-*']);
      assert.equal(created.rateLimitPerMinute, 120);
      const secretPart = created.key.slice(12);

      const res = await fetch(`${baseUrl}/api/v1/auth/keys?limit=100`, auth(t.adminKey));
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.ok(!text.includes(secretPart), 'the list holds the secret');
      assert.ok(!/"(key|hash)"/.test(text), 'the list names a key or hash field');
      const page = JSON.parse(text) as { items: Record<string, unknown>[]; total: number };
      for (const item of page.items) assert.deepEqual(Object.keys(item).sort(), API_KEY_FIELDS);
      assert.ok(page.items.some((item) => item.id === created.id));

      const rows = (await t.dataSource.query('SELECT * FROM api_keys')) as Record<string, unknown>[];
      const row = rows.find((r) => r.id === created.id);
      assert.ok(row, 'the row exists');
      assert.equal(row.hash, createHash('sha256').update(created.key).digest('hex'));
      for (const value of Object.values(row)) {
        const stored = value instanceof Date ? value.toISOString() : String(value);
        assert.ok(!stored.includes(secretPart), 'a column holds the secret');
      }
    });

    it('records lastUsedAt in a batch, not with a write per request', async () => {
      const keys = t.app.get(ApiKeysService);
      // Stops the periodic flush (every 15 s) for the rest of this app's life, so that only the
      // flush below can write: what the test sees does not depend on when the timer fires.
      await keys.onModuleDestroy();
      const key = await createKey(baseUrl, t.adminKey, { name: 'used', role: 'viewer' });
      const repository = t.dataSource.getRepository(ApiKeyEntity);
      const before = Date.now();
      for (let i = 0; i < 3; i += 1) assert.equal((await whoAmI(baseUrl, key.key)).status, 200);
      assert.equal((await repository.findOneByOrFail({ id: key.id })).lastUsedAt, null, 'written per request');
      await keys.flushLastUsed();
      const lastUsedAt = (await repository.findOneByOrFail({ id: key.id })).lastUsedAt;
      assert.ok(lastUsedAt, 'written by the flush');
      // Databases keep milliseconds (or less): allow the rounding, not more.
      assert.ok(lastUsedAt.getTime() >= before - 1000 && lastUsedAt.getTime() <= Date.now() + 1000);
      const page = (await (await fetch(`${baseUrl}/api/v1/auth/keys?limit=100`, auth(t.adminKey))).json()) as {
        items: { id: string; lastUsedAt: string | null }[];
      };
      assert.ok(page.items.find((k) => k.id === key.id)?.lastUsedAt);
    });

    it('answers 400 to an expiry in the past and to bad model patterns, naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ name: 'past', role: 'viewer', expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt'],
        [{ name: 'not-a-date', role: 'viewer', expiresAt: 'tomorrow' }, 'expiresAt'],
        [{ name: 'pattern', role: 'viewer', models: ['Iris Model'] }, 'models'],
        [{ name: 'pattern', role: 'viewer', models: ['fraud-*-x'] }, 'models'],
        [{ name: 'pattern', role: 'viewer', models: 'iris' }, 'models'],
        [{ name: 'pattern', role: 'viewer', models: [42] }, 'models'],
        [{ name: 'role', role: 'root' }, 'role'],
        [{ name: '', role: 'viewer' }, 'name'],
        [{ name: 'limit', role: 'viewer', rateLimitPerMinute: 0 }, 'rateLimitPerMinute'],
        [{ name: 'extra', role: 'viewer', hash: 'x' }, 'hash'],
      ];
      for (const [body, field] of cases) {
        const res = await fetch(`${baseUrl}/api/v1/auth/keys`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${t.adminKey}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        const answer = (await res.json()) as { statusCode: number; details?: { field: string }[] };
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.ok(
          answer.details?.some((d) => d.field === field),
          `${JSON.stringify(body)} names ${field}: ${JSON.stringify(answer)}`,
        );
      }
      const before = (await t.dataSource.query('SELECT COUNT(*) AS n FROM api_keys')) as { n: number | string }[];
      const created = await createKey(baseUrl, t.adminKey, { name: 'ok', role: 'viewer', models: ['iris', 'fraud-*'] });
      assert.deepEqual(created.models, ['iris', 'fraud-*']);
      const after = (await t.dataSource.query('SELECT COUNT(*) AS n FROM api_keys')) as { n: number | string }[];
      assert.equal(Number(after[0].n), Number(before[0].n) + 1, 'only the valid request stored a key');
    });
  });
}

function auth(credential: string): { headers: Record<string, string> } {
  return { headers: { Authorization: `Bearer ${credential}` } };
}

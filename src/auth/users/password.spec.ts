import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decoyHash, hashPassword, SCRYPT_PARAMETERS, verifyPassword } from './password';

/** Small parameters where the format, not the cost, is under test. */
const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashing (scrypt)', () => {
  it('stores scrypt$N$r$p$salt$hash in base64 with the default parameters', async () => {
    const stored = await hashPassword('correct horse battery staple');
    const parts = stored.split('$');
    assert.equal(parts.length, 6);
    assert.deepEqual(parts.slice(0, 4), ['scrypt', String(SCRYPT_PARAMETERS.N), '8', '1']);
    assert.equal(SCRYPT_PARAMETERS.N, 32768, 'memory-hard: 32 MiB per hash');
    assert.equal(Buffer.from(parts[4], 'base64').length, 16, 'a 16-byte salt');
    assert.equal(Buffer.from(parts[5], 'base64').length, 32, 'a 32-byte key');
    assert.ok(!stored.includes('correct horse'), 'the password is not in the hash');
    assert.ok(stored.length <= 256, 'fits users.password_hash');
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery staple');
    assert.equal(await verifyPassword('correct horse battery staple', stored), true);
    assert.equal(await verifyPassword('correct horse battery stapl', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('salts every hash: the same password gives different hashes that both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same password 1', FAST), hashPassword('same password 1', FAST)]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same password 1', a), true);
    assert.equal(await verifyPassword('same password 1', b), true);
  });

  it('verifies with the parameters stored in the hash, so they can be raised later', async () => {
    const stored = await hashPassword('older parameters', FAST);
    assert.match(stored, /^scrypt\$1024\$8\$1\$/);
    assert.equal(await verifyPassword('older parameters', stored), true);
  });

  it('treats canonically equal Unicode spellings as the same password (NFC)', async () => {
    const stored = await hashPassword('caf\u00e9 au lait 2024', FAST);
    assert.equal(await verifyPassword('cafe\u0301 au lait 2024', stored), true);
  });

  it('refuses malformed or out-of-bounds stored hashes instead of throwing or running away', async () => {
    const good = await hashPassword('some password!', FAST);
    const [, , r, p, salt, key] = good.split('$');
    for (const stored of [
      '',
      'plain text',
      `bcrypt$1024$${r}$${p}$${salt}$${key}`,
      `scrypt$1000$${r}$${p}$${salt}$${key}`, // N not a power of two
      `scrypt$${2 ** 24}$${r}$${p}$${salt}$${key}`, // N above the bound (16 GiB)
      `scrypt$1024$0$${p}$${salt}$${key}`,
      `scrypt$1024$${r}$99$${salt}$${key}`,
      `scrypt$1024$${r}$${p}$$${key}`,
      `scrypt$1024$${r}$${p}$${salt}$`,
      `scrypt$1024$${r}$${p}$${salt}$${key}$extra`,
    ]) {
      assert.equal(await verifyPassword('some password!', stored), false, stored);
    }
  });

  it('has one decoy hash per process for unknown usernames, which no password matches', async () => {
    const decoy = await decoyHash();
    assert.equal(decoy, await decoyHash());
    assert.match(decoy, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('', decoy), false);
  });
});

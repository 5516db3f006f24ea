import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl, scrubSecrets, secretsOf } from './secrets';

describe('secrets in configuration', () => {
  it('redacts the password of a URL, valid or not', () => {
    assert.equal(redactUrl('postgres://mf:pw-1234@db:5432/x'), 'postgres://mf:***@db:5432/x');
    assert.equal(redactUrl('redis://:pw-1234@ bad host'), 'redis://:***@ bad host');
    assert.equal(redactUrl('postgres://user@db/x'), 'postgres://user@db/x');
    assert.equal(redactUrl('not a url'), 'not a url');
  });

  it('collects URL passwords raw and decoded, and scrubs them', () => {
    const secrets = secretsOf({ DATABASE_URL: 'postgres://u:p%40ss-word@h/d', REDIS_URL: 'redis://:r3dis-pw@h' });
    assert.deepEqual(secrets.sort(), ['p%40ss-word', 'p@ss-word', 'r3dis-pw']);
    assert.equal(scrubSecrets('x p@ss-word y r3dis-pw p%40ss-word', secrets), 'x *** y *** ***');
    assert.deepEqual(secretsOf({ DATABASE_URL: 'postgres://u@h/d' }), []);
  });
});

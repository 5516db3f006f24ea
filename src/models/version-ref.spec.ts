import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAlias, parseVersionRef, readVersionRef } from './version-ref';

describe('version references', () => {
  it('an alias starts with a letter, has at most 32 characters and is not "latest"', () => {
    for (const alias of ['champion', 'a', 'canary-5', 'shadow_2', 'x'.repeat(32)]) assert.ok(isAlias(alias), alias);
    for (const alias of ['latest', '1', '12', 'Champion', '-a', '_a', 'a.b', 'a b', '', 'x'.repeat(33)]) {
      assert.ok(!isAlias(alias), alias);
    }
  });

  it('a JSON version is a number in range, an alias, "latest" or absent; anything else is null', () => {
    assert.equal(readVersionRef(undefined), undefined);
    assert.equal(readVersionRef('latest'), 'latest');
    assert.equal(readVersionRef(3), 3);
    assert.equal(readVersionRef(2_147_483_647), 2_147_483_647);
    assert.equal(readVersionRef('champion'), 'champion');
    for (const bad of [0, -1, 1.5, 2_147_483_648, Number.NaN, '3', '', 'Champion', null, true, [1], {}]) {
      assert.equal(readVersionRef(bad), null, JSON.stringify(bad));
    }
  });

  it('a version in text is decimal digits, an alias or "latest"; empty names none', () => {
    assert.equal(parseVersionRef(''), undefined);
    assert.equal(parseVersionRef('latest'), 'latest');
    assert.equal(parseVersionRef('7'), 7);
    assert.equal(parseVersionRef('champion'), 'champion');
    for (const bad of ['0', '07', '1e3', ' 1', '2147483648', '99999999999', 'Champion', '-1']) {
      assert.equal(parseVersionRef(bad), null, bad);
    }
  });
});

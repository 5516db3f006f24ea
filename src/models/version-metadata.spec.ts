import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metadataProblem } from './version-metadata';

describe('metadataProblem', () => {
  it('accepts up to 64 keys of strings up to 1024 characters and finite numbers', () => {
    const full = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`key.${i}:a-b_c`, i % 2 ? i : 'v']));
    assert.equal(metadataProblem(full), undefined);
    assert.equal(metadataProblem({ note: 'x'.repeat(1024), ['k'.repeat(64)]: -0.5 }), undefined);
    assert.equal(metadataProblem({}), undefined);
  });

  it('names the first offending key', () => {
    assert.match(metadataProblem({ ok: 1, 'bad key': 1 }) ?? '', /key 'bad key' must match/);
    assert.match(metadataProblem({ ['k'.repeat(65)]: 1 }) ?? '', /must match/);
    assert.match(metadataProblem({ note: 'x'.repeat(1025) }) ?? '', /metadata.note must be a string of up to 1024/);
    for (const value of [Number.POSITIVE_INFINITY, Number.NaN, true, null, [1], { a: 1 }]) {
      assert.match(metadataProblem({ v: value }) ?? '', /metadata.v must be/, String(value));
    }
  });

  it('refuses more than 64 keys and anything but an object', () => {
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    assert.match(metadataProblem(tooMany) ?? '', /65 keys; at most 64/);
    for (const value of [null, [], 'x', 3]) assert.match(metadataProblem(value) ?? '', /must be an object/);
  });
});

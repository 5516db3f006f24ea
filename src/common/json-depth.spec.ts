import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from './errors';
import { checkJsonDepth, firstValueEnd } from './json-depth';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('checkJsonDepth', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    checkJsonDepth(bytes('{"a": [[1]], "b": "[[[[\\"[["}'), 3);
    assert.throws(() => checkJsonDepth(bytes('{"a": [[1]]}'), 2), InvalidInputError);
  });
});

describe('firstValueEnd', () => {
  it('finds where the first object closes, past brackets in strings and escaped quotes', () => {
    const header = '{"a": ["}", "\\"]"], "b": {}}';
    assert.equal(firstValueEnd(bytes(`${header}\u0000[binary`)), header.length);
    assert.equal(firstValueEnd(bytes(header)), header.length);
  });

  it('is undefined for text that never closes or starts with a closing bracket', () => {
    assert.equal(firstValueEnd(bytes('{"a": [1, 2}')), undefined);
    assert.equal(firstValueEnd(bytes(']{}')), undefined);
    assert.equal(firstValueEnd(bytes('12')), undefined);
  });
});

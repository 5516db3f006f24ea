import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasLongIntegerLiteral, parseJsonExact } from './exact-json';

describe('hasLongIntegerLiteral', () => {
  const cases: [string, boolean][] = [
    ['[9007199254740993]', true],
    ['[-9223372036854775808]', true],
    ['{"a":1, "b":\n1234567890123456}', true],
    ['9007199254740993', true],
    ['[123456789012345]', false],
    ['[0.12345678901234567]', false],
    ['[-0.12345678901234567]', false],
    ['[1234567890123456.5]', false],
    ['[12345678901234567e2]', false],
    ['[1.5E+1234567890123456]', false],
    ['[3.4028234663852886e+38,1e-7]', false],
  ];
  for (const [text, expected] of cases) {
    it(`${expected ? 'finds' : 'finds none in'} ${JSON.stringify(text)}`, () => {
      assert.equal(hasLongIntegerLiteral(text), expected);
    });
  }
});

describe('parseJsonExact', () => {
  it('gives integers past 2^53 as BigInts and every other number as JSON.parse does', () => {
    const text = '[9007199254740993,-9007199254740992,9007199254740991,-0.5,1e400,12345678901234567e2,0.1]';
    const parsed = parseJsonExact(text) as unknown[];
    assert.deepEqual(parsed.slice(0, 2), [2n ** 53n + 1n, -(2n ** 53n)]);
    assert.deepEqual(parsed.slice(2), (JSON.parse(text) as unknown[]).slice(2));
  });

  it('treats repeated and __proto__ keys as JSON.parse does', () => {
    const text = '{"a":1,"a":2,"__proto__":{"b":3},"big":18446744073709551615}';
    const parsed = parseJsonExact(text) as Record<string, unknown>;
    assert.equal(parsed.a, 2);
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value, { b: 3 });
    assert.equal(parsed.big, 2n ** 64n - 1n);
  });

  it('throws a SyntaxError for text that is not JSON, on either path', () => {
    assert.throws(() => parseJsonExact('[1,'), SyntaxError);
    assert.throws(() => parseJsonExact('[9007199254740993,'), SyntaxError);
  });
});

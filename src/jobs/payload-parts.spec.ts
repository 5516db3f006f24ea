import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitBytes, splitText } from './payload-parts';

describe('payload parts', () => {
  it('cuts bytes into parts of the given size, the last one shorter, without copying', () => {
    const data = Buffer.from(Array.from({ length: 10 }, (_, i) => i));
    const parts = splitBytes(data, 4);
    assert.deepEqual(
      parts.map((p) => [...p]),
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ],
    );
    assert.equal(parts[1].buffer, data.buffer, 'a view of the same memory');
    assert.deepEqual(Buffer.concat(splitBytes(data, 5)), data);
    assert.deepEqual(splitBytes(Buffer.alloc(0), 4), [Buffer.alloc(0)]);
    assert.equal(splitBytes(data, 10).length, 1);
  });

  it('cuts text into parts that join back to it, never between the two halves of a surrogate pair', () => {
    assert.deepEqual(splitText('abcdefg', 3), ['abc', 'def', 'g']);
    assert.deepEqual(splitText('', 3), ['']);
    // '😀' is two UTF-16 units; a cut after 'ab' + its first half would leave both parts invalid.
    const text = 'ab😀cd😀😀e';
    for (const size of [2, 3, 4, 5]) {
      const parts = splitText(text, size);
      assert.equal(parts.join(''), text, `size ${size}`);
      for (const part of parts) {
        assert.ok(part.length <= size && part.length > 0, `size ${size}: ${JSON.stringify(part)}`);
        assert.equal(
          Buffer.from(part, 'utf8').toString('utf8'),
          part,
          `size ${size}: part ${JSON.stringify(part)} is whole`,
        );
      }
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkSizeFor } from './job-runner.service';

describe('chunkSizeFor', () => {
  it('gives small instances the configured maximum', () => {
    assert.equal(chunkSizeFor([{ name: 'x', dtype: 'float32', shape: [-1, 64] }], 1024), 1024);
  });

  it('keeps a chunk of image inputs within the element budget', () => {
    const size = chunkSizeFor([{ name: 'image', dtype: 'float32', shape: [-1, 3, 48, 192] }], 1024);
    assert.equal(size, Math.floor((4 * 1024 * 1024) / (3 * 48 * 192)));
    assert.ok(size * 3 * 48 * 192 <= 4 * 1024 * 1024);
  });

  it('counts every input and never goes below one instance', () => {
    const two = chunkSizeFor(
      [
        { name: 'a', dtype: 'float32', shape: [-1, 1000] },
        { name: 'b', dtype: 'float32', shape: [-1, 1000] },
      ],
      10_000,
    );
    assert.equal(two, Math.floor((4 * 1024 * 1024) / 2000));
    assert.equal(chunkSizeFor([{ name: 'huge', dtype: 'float32', shape: [8192, 8192] }], 1024), 1);
  });
});

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { PayloadTooLargeError } from '../common/errors';
import { LineBatch, LineBatchLimits, readLineBatches } from './ndjson-batches';

const LIMITS: LineBatchLimits = { maxLineBytes: 100, maxTotalBytes: 10_000, batchBytes: 1000, batchLines: 1000 };

async function collect(stream: Readable, limits: Partial<LineBatchLimits> = {}): Promise<LineBatch[]> {
  const batches: LineBatch[] = [];
  for await (const batch of readLineBatches(stream, { ...LIMITS, ...limits })) batches.push(batch);
  return batches;
}

const text = (batch: LineBatch) => Buffer.from(batch.bytes).toString('utf8');

describe('readLineBatches', () => {
  it('cuts whole lines only, across chunk boundaries, each batch in a buffer of its own', async () => {
    // A multi-byte character cut between two chunks must survive.
    const chunks = ['{"a":', '1}\r\n{"b"', ':2}\n', '\n{"c":"', 'é"}\n', 'x'].map((c) => Buffer.from(c));
    const cut = chunks[4];
    const stream = Readable.from([...chunks.slice(0, 4), cut.subarray(0, 1), cut.subarray(1), chunks[5]]);
    const batches = await collect(stream, { batchLines: 2 });
    assert.deepEqual(
      batches.map((b) => [text(b), b.lines]),
      [
        ['{"a":1}\r\n{"b":2}\n', 2],
        ['\n{"c":"é"}\n', 2],
        ['x', 1],
      ],
    );
    for (const { bytes } of batches) {
      assert.equal(bytes.byteOffset, 0);
      assert.equal(bytes.byteLength, bytes.buffer.byteLength);
    }
  });

  it('batches many small lines by bytes, not one per line', async () => {
    const line = Buffer.from('{"inputs": {"x": [[1, 2, 3, 4]]}}\n');
    const batches = await collect(Readable.from(Array.from({ length: 100 }, () => line)), { batchBytes: 1000 });
    assert.equal(
      batches.reduce((n, b) => n + b.lines, 0),
      100,
    );
    assert.ok(batches.length <= 4, `${batches.length} batches`);
    assert.equal(batches.map(text).join(''), line.toString().repeat(100));
  });

  it('stops a line longer than the limit with 413, before reading it whole', async () => {
    let pulled = 0;
    const endless = Readable.from(
      (function* () {
        for (; pulled < 1000; pulled++) yield Buffer.alloc(100, 0x61);
      })(),
    );
    await assert.rejects(collect(endless, { maxLineBytes: 1000 }), /exceeds MAX_JSON_BODY_BYTES \(1000 bytes\)/);
    assert.ok(pulled < 100, `read ${pulled} of 1000 chunks`);
    await assert.rejects(
      collect(Readable.from([Buffer.from(`${'x'.repeat(11)}\nok\n`)]), { maxLineBytes: 10 }),
      PayloadTooLargeError,
    );
  });

  it('stops an upload past the total budget with 413 as the bytes arrive', async () => {
    let pulled = 0;
    const endless = Readable.from(
      (function* () {
        for (; pulled < 1000; pulled++) yield Buffer.from('{"inputs": {}}\n'.repeat(10));
      })(),
    );
    await assert.rejects(collect(endless, { maxTotalBytes: 1500 }), (error: unknown) => {
      assert.ok(error instanceof PayloadTooLargeError);
      assert.match(error.message, /JOBS_MAX_SUBMISSION_BYTES \(1500 bytes\)/);
      return true;
    });
    assert.ok(pulled < 100, `read ${pulled} of 1000 chunks`);
  });
});

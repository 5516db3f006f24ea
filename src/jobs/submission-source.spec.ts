import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { InvalidInputError, PayloadTooLargeError } from '../common/errors';
import { fromArray, fromNdjson, parseJobBody, readLines } from './submission-source';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describe('readLines', () => {
  it('splits lines across chunk boundaries, CRLF included, with a last line lacking its newline', async () => {
    const chunks = ['{"a":', '1}\r\n{"b"', ':2}\n', '\n', 'é', 'x'].map((c) => Buffer.from(c));
    // A multi-byte character cut between two chunks must survive.
    const cut = Buffer.from('{"c":"é"}\n');
    const stream = Readable.from([...chunks.slice(0, 4), cut.subarray(0, 7), cut.subarray(7), ...chunks.slice(4)]);
    assert.deepEqual(await collect(readLines(stream, 100)), ['{"a":1}\r', '{"b":2}', '', '{"c":"é"}', 'éx']);
  });

  it('stops a line longer than the limit with 413, before reading it whole', async () => {
    const endless = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) yield Buffer.alloc(100, 0x61);
      })(),
    );
    await assert.rejects(collect(readLines(endless, 1000)), PayloadTooLargeError);
    await assert.rejects(
      collect(readLines(Readable.from([Buffer.from(`${'x'.repeat(11)}\nok\n`)]), 10)),
      PayloadTooLargeError,
    );
  });
});

describe('job submission sources', () => {
  it('numbers NDJSON instances apart from blank lines and names the line of a problem', async () => {
    const lines = async function* () {
      yield '{"inputs": {"x": 1}}';
      yield '   ';
      yield '{"inputs": {"x": 2}}';
      yield '{"inputs": ';
    };
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const instance of fromNdjson(lines())) seen.push(instance.index);
      })(),
      (error: unknown) =>
        error instanceof InvalidInputError && /instances\[2\] is not valid JSON \(line 4\)/.test(error.message),
    );
    assert.deepEqual(seen, [0, 1]);
  });

  it('checks the JSON envelope and each instance by hand, listing every envelope problem', () => {
    assert.throws(
      () => parseJobBody({ model: 'Bad!', version: 0, instances: 'x', extra: true }),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        JSON.stringify(error.details?.map((d) => d.field)) === '["extra","model","version","instances"]',
    );
    const { target, instances } = parseJobBody({ model: 'iris', instances: [{ inputs: {} }, []] });
    assert.deepEqual(target, { model: 'iris', version: undefined });
    const iterator = fromArray(instances)[Symbol.iterator]();
    assert.deepEqual(iterator.next().value, { index: 0, field: 'instances[0]', where: '', inputs: {} });
    assert.throws(() => iterator.next(), /instances\[1\] must be an object/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../common/errors';
import { fromArray, fromNdjsonBatch, parseJobBody, parseJobBytes } from './submission-source';

describe('job submission sources', () => {
  it('numbers NDJSON instances apart from blank lines, from where the batch starts, and names the line', () => {
    const batch = Buffer.from('{"inputs": {"x": 1}}\r\n   \n{"inputs": {"x": "é"}}\n{"inputs": \n');
    const seen: [number, string][] = [];
    assert.throws(
      () => {
        for (const instance of fromNdjsonBatch(batch, 11, 5)) seen.push([instance.index, instance.where]);
      },
      (error: unknown) =>
        error instanceof InvalidInputError && /instances\[7\] is not valid JSON \(line 14\)/.test(error.message),
    );
    assert.deepEqual(seen, [
      [5, ' (line 11)'],
      [6, ' (line 13)'],
    ]);
    const last = [...fromNdjsonBatch(Buffer.from('\n{"inputs": {"s": "é"}}'), 1, 0)];
    assert.deepEqual(last, [{ index: 0, field: 'instances[0]', where: ' (line 2)', inputs: { s: 'é' } }]);
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

  it('takes only a version from 1 to 2147483647 in the body', () => {
    for (const version of [1e20, 2_147_483_648, 0, -1, 1.5, '1', ' 1', '0x10', null]) {
      assert.throws(
        () => parseJobBody({ model: 'iris', version, instances: [{ inputs: {} }] }),
        (error: unknown) => error instanceof InvalidInputError && error.details?.[0].field === 'version',
        String(version),
      );
    }
    assert.equal(
      parseJobBody({ model: 'iris', version: 2_147_483_647, instances: [{}] }).target.version,
      2_147_483_647,
    );
  });

  it('parses raw body bytes, naming malformed JSON', () => {
    assert.throws(() => parseJobBytes(Buffer.from('{"model": ')), /^InvalidInputError: Malformed JSON body/);
    assert.equal(parseJobBytes(Buffer.from('{"model": "iris", "instances": [{}]}')).instances.length, 1);
  });
});

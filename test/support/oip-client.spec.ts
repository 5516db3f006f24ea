import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAnswer, HEADER_LENGTH, inferRequest } from './oip-client';
import { bytesOf } from './oip-wire';

/**
 * The conformance suites trust this client to write and read the wire exactly; these checks keep
 * a client bug from passing for a server bug.
 */

const ids = {
  name: 'ids',
  datatype: 'INT64' as const,
  shape: [2, 2],
  data: [2n ** 63n - 1n, -(2n ** 63n), 1n, 9007199254740993n],
};
const words = { name: 'words', datatype: 'BYTES' as const, shape: [2], data: ['a"b', '$&$1 🙂'] };

describe('OIP REST client', () => {
  it('writes JSON data flat or nested, 64-bit integers as exact digits, strings as they are', () => {
    const flat = inferRequest('m', { inputs: [ids, words], id: 'r1' });
    assert.equal(flat.path, '/v2/models/m/infer');
    assert.equal(flat.headers['Content-Type'], 'application/json');
    assert.equal(flat.headers[HEADER_LENGTH], undefined);
    assert.equal(
      flat.body.toString(),
      '{"id":"r1","inputs":[{"name":"ids","datatype":"INT64","shape":[2,2],' +
        '"data":[9223372036854775807,-9223372036854775808,1,9007199254740993]},' +
        '{"name":"words","datatype":"BYTES","shape":[2],"data":["a\\"b","$&$1 🙂"]}]}',
    );
    const nested = inferRequest('m', { version: '2', inputs: [ids], nestedData: true, contentType: null });
    assert.equal(nested.path, '/v2/models/m/versions/2/infer');
    assert.equal(nested.headers['Content-Type'], undefined);
    assert.match(
      nested.body.toString(),
      /"data":\[\[9223372036854775807,-9223372036854775808\],\[1,9007199254740993\]\]/,
    );
  });

  it('frames binary inputs after the JSON header and asks outputs as the options say', () => {
    const request = inferRequest('m', {
      inputs: [ids, { ...words, binary: false }],
      binaryInputs: true,
      binaryOutputs: true,
      outputs: [{ name: 'a', binary: false }, { name: 'b' }],
    });
    const headerLength = Number(request.headers[HEADER_LENGTH]);
    const header = JSON.parse(request.body.subarray(0, headerLength).toString()) as Record<string, unknown>;
    assert.deepEqual(header, {
      parameters: { binary_data_output: true },
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [2, 2], parameters: { binary_data_size: 32 } },
        { name: 'words', datatype: 'BYTES', shape: [2], data: ['a"b', '$&$1 🙂'] },
      ],
      outputs: [{ name: 'a', parameters: { binary_data: false } }, { name: 'b' }],
    });
    assert.deepEqual(request.body.subarray(headerLength), bytesOf('INT64', ids.data));
    assert.equal(request.headers['Content-Type'], 'application/octet-stream');
  });

  it('reads JSON and binary outputs to the same values, long integers exactly', () => {
    const json = Buffer.from(
      '{"model_name":"m","outputs":[{"name":"ids","datatype":"INT64","shape":[2,2],' +
        '"data":[9223372036854775807,-9223372036854775808,1,9007199254740993]},' +
        '{"name":"flags","datatype":"BOOL","shape":[2],"data":[true,false]}]}',
    );
    const fromJson = decodeAnswer(200, new Headers(), json);
    assert.deepEqual(fromJson.outputs.get('ids'), {
      datatype: 'INT64',
      shape: [2, 2],
      values: ids.data,
      binary: false,
    });
    assert.deepEqual(fromJson.outputs.get('flags')?.values, [true, false]);

    const error = decodeAnswer(
      400,
      new Headers(),
      Buffer.from('{"error":"size 18446744073709551616, \\"past\\" 2^64"}'),
    );
    assert.deepEqual(error.header, { error: 'size 18446744073709551616, "past" 2^64' }, 'digits in a string stay put');
    const fp64 = decodeAnswer(
      200,
      new Headers(),
      Buffer.from(
        '{"outputs":[{"name":"f","datatype":"FP64","shape":[2],"data":[0.12345678901234567,12345678901234567890]}]}',
      ),
    );
    assert.deepEqual(fp64.outputs.get('f')?.values, [Number('0.12345678901234567'), Number('12345678901234567890')]);

    const raw = bytesOf('INT64', ids.data);
    const header = Buffer.from(
      JSON.stringify({
        outputs: [{ name: 'ids', datatype: 'INT64', shape: [2, 2], parameters: { binary_data_size: raw.length } }],
      }),
    );
    const headers = new Headers({ [HEADER_LENGTH]: String(header.length) });
    const fromBinary = decodeAnswer(200, headers, Buffer.concat([header, raw]));
    assert.deepEqual(fromBinary.outputs.get('ids'), {
      datatype: 'INT64',
      shape: [2, 2],
      values: ids.data,
      binary: true,
    });
  });
});

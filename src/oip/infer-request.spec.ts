import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesOf, encodeInferBody, valuesOf } from '../../test/support/oip-wire';
import { InvalidInputError } from '../common/errors';
import { inputFromRaw, inputFromValues, readInferRequest } from './infer-request';
import type { OipInferRequest } from './oip-types';

const LIMITS = { maxElements: 1000 };

/** Reads a body given as a JSON header and binary parts; the header length as a client sends it. */
function readBinary(header: object, binaries: Uint8Array[], limits = LIMITS): OipInferRequest {
  const { body, headerLength } = encodeInferBody(header, binaries);
  return readInferRequest(body, String(headerLength), limits);
}

function readJson(header: object, limits = LIMITS): OipInferRequest {
  return readInferRequest(Buffer.from(JSON.stringify(header)), undefined, limits);
}

/** Asserts a 400 (InvalidInputError) whose message is exactly `message`. */
function refuses(read: () => unknown, message: string): void {
  assert.throws(read, (error: unknown) => {
    assert.ok(error instanceof InvalidInputError, `expected an InvalidInputError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

const fp32 = (name: string, values: number[], shape = [values.length]) => ({
  header: { name, datatype: 'FP32', shape, parameters: { binary_data_size: values.length * 4 } },
  bytes: bytesOf('FP32', values),
});

describe('readInferRequest: the JSON header', () => {
  it('reads id, parameters, inputs and requested outputs', () => {
    const request = readJson({
      id: 'r-1',
      parameters: { binary_data_output: true, priority: 3 },
      inputs: [{ name: 'x', datatype: 'INT32', shape: [2], data: [1, -2], parameters: { tag: 'a' } }],
      outputs: [{ name: 'y' }, { name: 'z', parameters: { binary_data: false } }],
      unknown_field: 'ignored',
    });
    assert.equal(request.id, 'r-1');
    assert.deepEqual(request.parameters, { binary_data_output: true, priority: 3 });
    assert.equal(request.binaryOutputs, true);
    assert.deepEqual(request.outputs, [
      { name: 'y', binary: true },
      { name: 'z', binary: false, parameters: { binary_data: false } },
    ]);
    const [x] = request.inputs;
    assert.equal(x.datatype, 'INT32');
    assert.deepEqual(x.parameters, { tag: 'a' });
    assert.deepEqual(valuesOf('INT32', x.data as Uint8Array), [1, -2]);
  });

  it('asks for every output when outputs is absent or empty, as JSON unless asked', () => {
    const input = { name: 'x', datatype: 'BOOL', shape: [1], data: [true] };
    assert.equal(readJson({ inputs: [input] }).outputs, undefined);
    assert.equal(readJson({ inputs: [input], outputs: [] }).outputs, undefined);
    assert.equal(readJson({ inputs: [input] }).binaryOutputs, false);
  });

  const header = (extra: object) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], ...extra });
  const cases: [string, () => unknown, string][] = [
    [
      'not JSON',
      () => readInferRequest(Buffer.from('{"inputs": ['), undefined, LIMITS),
      'The JSON header (12 bytes) is not valid JSON: ',
    ],
    [
      'not an object',
      () => readInferRequest(Buffer.from('[1]'), undefined, LIMITS),
      'The JSON header must be an object {"inputs": [...]}',
    ],
    ['no inputs', () => readJson({}), 'inputs must be a non-empty array of {name, shape, datatype, data}'],
    [
      'empty inputs',
      () => readJson({ inputs: [] }),
      'inputs must be a non-empty array of {name, shape, datatype, data}',
    ],
    [
      'an input that is not an object',
      () => readJson({ inputs: [3] }),
      'inputs[0] must be an object {name, shape, datatype, data}',
    ],
    [
      'an input without a name',
      () => readJson({ inputs: [{ datatype: 'FP32', shape: [1], data: [1] }] }),
      'inputs[0] needs "name", a string of 1 to 1024 characters',
    ],
    [
      'an input name too long',
      () => readJson({ inputs: [{ name: 'n'.repeat(1025), datatype: 'FP32', shape: [1], data: [1] }] }),
      'inputs[0] needs "name", a string of 1 to 1024 characters',
    ],
    [
      'a duplicate input',
      () => readJson({ inputs: [header({}).inputs[0], header({}).inputs[0]] }),
      "input 'x' is given twice",
    ],
    ['a number id', () => readJson(header({ id: 7 })), 'id must be a string of at most 1024 characters'],
    ['parameters not an object', () => readJson(header({ parameters: [] })), 'parameters must be an object'],
    [
      'binary_data_output not a boolean',
      () => readJson(header({ parameters: { binary_data_output: 'yes' } })),
      'parameters.binary_data_output must be true or false, got "yes"',
    ],
    [
      'outputs not an array',
      () => readJson(header({ outputs: { name: 'y' } })),
      'outputs must be an array of {name, parameters?}',
    ],
    [
      'an output without a name',
      () => readJson(header({ outputs: [{}] })),
      'outputs[0] needs "name", a string of 1 to 1024 characters',
    ],
    [
      'a duplicate output',
      () => readJson(header({ outputs: [{ name: 'y' }, { name: 'y' }] })),
      "output 'y' is asked for twice",
    ],
    [
      'binary_data not a boolean',
      () => readJson(header({ outputs: [{ name: 'y', parameters: { binary_data: 1 } }] })),
      "output 'y' parameters.binary_data must be true or false, got 1",
    ],
    [
      'an unknown datatype',
      () => readJson({ inputs: [{ name: 'x', datatype: 'FP8', shape: [1], data: [1] }] }),
      'input \'x\' has datatype "FP8"; expected one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES',
    ],
    [
      'a missing shape',
      () => readJson({ inputs: [{ name: 'x', datatype: 'FP32', data: [1] }] }),
      `input 'x' needs "shape", an array of non-negative integers`,
    ],
    [
      'a negative dimension',
      () => readJson({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, -1], data: [1] }] }),
      "input 'x' has an invalid shape [2, -1]: dimensions must be non-negative integers",
    ],
    [
      'a fractional dimension',
      () => readJson({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1.5], data: [1] }] }),
      "input 'x' has an invalid shape [1.5]: dimensions must be non-negative integers",
    ],
    [
      'a rank over 64',
      () => readJson({ inputs: [{ name: 'x', datatype: 'FP32', shape: new Array(65).fill(1), data: [1] }] }),
      "input 'x' has rank 65 (shape [1, 1, 1, 1, 1, 1, 1, 1, … (rank 65)]), more than the 64 accepted",
    ],
    [
      'parameters of an input not an object',
      () => readJson({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1], parameters: 3 }] }),
      "input 'x' has parameters that are not an object",
    ],
    [
      'neither data nor binary',
      () => readJson({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }),
      `input 'x' has neither "data" nor parameters.binary_data_size`,
    ],
    [
      'data that is not an array',
      () => readJson({ inputs: [{ name: 'x', datatype: 'FP32', shape: [], data: 1 }] }),
      `input 'x' has "data" that is not an array but 1`,
    ],
    [
      'nesting deeper than any tensor',
      () =>
        readJson({
          inputs: [
            {
              name: 'x',
              datatype: 'FP32',
              shape: [1],
              data: [1],
              parameters: { deep: JSON.parse('['.repeat(70) + ']'.repeat(70)) },
            },
          ],
        }),
      'The JSON body is nested deeper than 67 levels',
    ],
  ];
  for (const [what, read, message] of cases) {
    it(`refuses ${what}`, () => {
      if (message.endsWith(': ')) {
        assert.throws(read, (e: unknown) => e instanceof InvalidInputError && e.message.startsWith(message));
      } else refuses(read, message);
    });
  }

  it('refuses a header that is not UTF-8', () => {
    refuses(
      () => readInferRequest(Buffer.from([0x7b, 0xff, 0x7d]), undefined, LIMITS),
      'The JSON header (3 bytes) is not valid JSON: it is not valid UTF-8',
    );
  });
});

describe('readInferRequest: JSON data', () => {
  const read = (datatype: string, shape: number[], data: unknown[]) =>
    readJson({ inputs: [{ name: 'x', datatype, shape, data }] }).inputs[0];

  it('reads flat and nested row-major data to the same bytes', () => {
    const flat = read('FP64', [2, 3], [1, 2, 3, 4, 5, 6]);
    const nested = read(
      'FP64',
      [2, 3],
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    );
    assert.deepEqual(nested.data, flat.data);
    assert.deepEqual(valuesOf('FP64', flat.data as Uint8Array), [1, 2, 3, 4, 5, 6]);
  });

  it('stores every datatype as its little-endian bytes', () => {
    const cases: [string, unknown[], unknown[]][] = [
      ['BOOL', [true, false], [true, false]],
      ['UINT8', [0, 255], [0, 255]],
      ['INT8', [-128, 127], [-128, 127]],
      ['UINT16', [65535], [65535]],
      ['INT16', [-32768], [-32768]],
      ['UINT32', [4294967295], [4294967295]],
      ['INT32', [-2147483648], [-2147483648]],
      ['INT64', ['-9223372036854775808', 9007199254740991], [-(2n ** 63n), 9007199254740991n]],
      ['UINT64', ['18446744073709551615'], [2n ** 64n - 1n]],
      ['FP16', [1, -0.5, 65504, 0.1], [1, -0.5, 65504, 0.0999755859375]],
      ['FP32', [3.4028234663852886e38, 0.1], [3.4028234663852886e38, Math.fround(0.1)]],
      ['FP64', [1e308], [1e308]],
    ];
    for (const [datatype, json, stored] of cases) {
      const input = read(datatype, [json.length], json);
      assert.deepEqual(valuesOf(datatype as 'FP32', input.data as Uint8Array), stored, datatype);
    }
  });

  it('keeps BYTES as strings', () => {
    assert.deepEqual(read('BYTES', [2], ['a', 'é€']).data, ['a', 'é€']);
  });

  const bad: [string, number[], unknown[], string][] = [
    ['FP32', [2], [1], "input 'x' has 1 values but shape [2] needs 2"],
    ['FP32', [2, 2], [[1, 2], [3]], "input 'x' is not rectangular: the value[1] has 1 elements, expected 2"],
    ['FP32', [2, 1], [[1], 2], "input 'x' is not rectangular: the value[1] is a scalar, expected an array of 1"],
    ['FP32', [1], [1e39], "input 'x' value 1e+39 at flat index 0 is not representable as FP32"],
    ['FP64', [1], ['1'], `input 'x' value "1" at flat index 0 is not representable as FP64`],
    ['UINT8', [1], [256], "input 'x' value 256 at flat index 0 is not representable as UINT8"],
    ['INT8', [2], [1, 1.5], "input 'x' value 1.5 at flat index 1 is not representable as INT8"],
    ['INT32', [1], [2147483648], "input 'x' value 2147483648 at flat index 0 is not representable as INT32"],
    [
      'UINT64',
      [1],
      [-1],
      "input 'x' value -1 at flat index 0 is not representable as UINT64 (its range is 0 to 18446744073709551615)",
    ],
    [
      'INT64',
      [1],
      ['9223372036854775808'],
      `input 'x' value "9223372036854775808" at flat index 0 is not representable as INT64 (its range is -9223372036854775808 to 9223372036854775807)`,
    ],
    ['BOOL', [1], [1], "input 'x' value 1 at flat index 0 is not representable as BOOL"],
    ['FP16', [1], [65520], "input 'x' value 65520 at flat index 0 is not representable as FP16"],
    ['FP16', [1], ['1'], `input 'x' value "1" at flat index 0 is not representable as FP16`],
    ['BYTES', [1], [1], "input 'x' value 1 at flat index 0 is not representable as BYTES"],
  ];
  for (const [datatype, shape, data, message] of bad) {
    it(`refuses ${message.slice(10)}`, () => refuses(() => read(datatype, shape, data), message));
  }

  it('bounds the elements of all inputs together, naming the input that crosses the limit', () => {
    const input = (name: string) => ({ name, datatype: 'UINT8', shape: [10, 60], data: new Array(600).fill(0) });
    refuses(
      () => readJson({ inputs: [input('a'), input('b')] }),
      "input 'b' has shape [10, 60], which takes the request past MAX_TENSOR_ELEMENTS",
    );
  });

  it('never multiplies a huge shape past the budget', () => {
    const shape = [2 ** 52, 2 ** 52, 2 ** 52];
    refuses(
      () => read('FP32', shape, []),
      "input 'x' has shape [4503599627370496, 4503599627370496, 4503599627370496], which takes the request past MAX_TENSOR_ELEMENTS",
    );
    assert.equal(read('FP32', [2 ** 52, 0, 2 ** 52], []).shape[1], 0, 'an empty tensor of huge dimensions is empty');
  });
});

describe('readInferRequest: 64-bit integers past 2^53, written as digits', () => {
  /** A body given as JSON text, since JSON.stringify cannot write integers past 2^53. */
  const readText = (text: string) => readInferRequest(Buffer.from(text), undefined, LIMITS);
  const body = (name: string, datatype: string, digits: string) =>
    `{"inputs":[{"name":"${name}","datatype":"${datatype}","shape":[${digits.split(',').length}],"data":[${digits}]}]}`;

  it('reads them exactly, as Triton and numpy-based clients write them', () => {
    const request = readText(
      '{"inputs":[{"name":"ids","datatype":"INT64","shape":[1,4],' +
        '"data":[9007199254740993,-9223372036854775808,9223372036854775807,-9007199254740993]}]}',
    );
    assert.deepEqual(
      request.inputs[0].data,
      new Uint8Array(new BigInt64Array([2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, -(2n ** 53n) - 1n]).buffer),
    );
    const max = readText(body('u', 'UINT64', '18446744073709551615,9007199254740992,0'));
    assert.deepEqual(valuesOf('UINT64', max.inputs[0].data as Uint8Array), [2n ** 64n - 1n, 2n ** 53n, 0n]);
  });

  it('reads nested data and keeps small numbers beside them as they were', () => {
    const request = readText(
      '{"inputs":[{"name":"n","datatype":"INT64","shape":[2,2],"data":[[1,-2],[3,1234567890123456789]]}],' +
        '"parameters":{"seed":18446744073709551615,"t":0.5}}',
    );
    assert.deepEqual(valuesOf('INT64', request.inputs[0].data as Uint8Array), [1n, -2n, 3n, 1234567890123456789n]);
    assert.deepEqual(request.parameters, { seed: 2n ** 64n - 1n, t: 0.5 });
  });

  const refused: [string, string, string, string][] = [
    [
      '2^63 as INT64',
      'INT64',
      '1,9223372036854775808',
      "input 'x' value 9223372036854775808 at flat index 1 is not representable as INT64 (its range is -9223372036854775808 to 9223372036854775807)",
    ],
    [
      '-1 as UINT64',
      'UINT64',
      '18446744073709551615,-1',
      "input 'x' value -1 at flat index 1 is not representable as UINT64 (its range is 0 to 18446744073709551615)",
    ],
    [
      '2^64 as UINT64',
      'UINT64',
      '18446744073709551616',
      "input 'x' value 18446744073709551616 at flat index 0 is not representable as UINT64 (its range is 0 to 18446744073709551615)",
    ],
    [
      'a big value as INT32',
      'INT32',
      '9007199254740993',
      "input 'x' value 9007199254740993 at flat index 0 is not representable as INT32",
    ],
    [
      'a big value as FP16',
      'FP16',
      '-9007199254740993',
      "input 'x' value -9007199254740993 at flat index 0 is not representable as FP16",
    ],
    [
      'a big value as BOOL',
      'BOOL',
      '9007199254740993',
      "input 'x' value 9007199254740993 at flat index 0 is not representable as BOOL",
    ],
    [
      'a big value as BYTES',
      'BYTES',
      '9007199254740993',
      "input 'x' value 9007199254740993 at flat index 0 is not representable as BYTES",
    ],
  ];
  for (const [what, datatype, digits, message] of refused) {
    it(`refuses ${what}, quoting the digits as written`, () =>
      refuses(() => readText(body('x', datatype, digits)), message));
  }

  it('reads digits past 2^53 as FP32 and FP64 to the doubles JSON.parse gives (how floats up to 1e21 are written)', () => {
    const digits = `${JSON.stringify(1e20)},${JSON.stringify(Math.fround(1e17))},9007199254740993`;
    const expected = JSON.parse(`[${digits}]`) as number[];
    assert.deepEqual(valuesOf('FP64', readText(body('x', 'FP64', digits)).inputs[0].data as Uint8Array), expected);
    assert.deepEqual(
      valuesOf('FP32', readText(body('x', 'FP32', digits)).inputs[0].data as Uint8Array),
      expected.map(Math.fround),
    );
  });

  it('reads floats with many digits as JSON.parse does', () => {
    const digits = '0.12345678901234567,-1.2345678901234567e-30,1234567890123456.5,12345678901234567e2';
    const request = readText(body('x', 'FP64', digits));
    assert.deepEqual(valuesOf('FP64', request.inputs[0].data as Uint8Array), JSON.parse(`[${digits}]`));
  });

  it('keeps the depth limit and the bounded error text', () => {
    const deep = '['.repeat(70) + ']'.repeat(70);
    refuses(
      () => readText(`{"inputs":[],"parameters":{"a":9007199254740993,"deep":${deep}}}`),
      'The JSON body is nested deeper than 67 levels',
    );
    assert.throws(
      () => readText(`{"inputs":[{"data":[9007199254740993, ${'x'.repeat(10_000)}]}]}`),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        error.message.startsWith('The JSON header (10042 bytes) is not valid JSON: ') &&
        error.message.length < 300,
    );
  });
});

describe('readInferRequest: binary tensor data', () => {
  it('reads binary inputs as views of the body, in order, beside JSON ones', () => {
    const a = fp32('a', [1, 2, 3, 4, 5, 6], [2, 3]);
    const text = {
      header: { name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 15 } },
      bytes: bytesOf('BYTES', ['hi', 'ünï']),
    };
    const { body, headerLength } = encodeInferBody(
      { inputs: [a.header, { name: 'j', datatype: 'INT8', shape: [1], data: [-1] }, text.header] },
      [a.bytes, text.bytes],
    );
    const request = readInferRequest(body, String(headerLength), LIMITS);
    const [x, j, s] = request.inputs;
    assert.equal((x.data as Uint8Array).buffer, body.buffer, 'a view, not a copy');
    assert.equal((x.data as Uint8Array).byteOffset, body.byteOffset + headerLength);
    assert.deepEqual(valuesOf('FP32', x.data as Uint8Array), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(x.shape, [2, 3]);
    assert.deepEqual(x.parameters, { binary_data_size: 24 });
    assert.deepEqual(valuesOf('INT8', j.data as Uint8Array), [-1]);
    assert.deepEqual(s.data, ['hi', 'ünï']);
  });

  it('accepts a header length equal to the body (binary outputs only) and empty tensors', () => {
    const request = readBinary(
      { inputs: [{ name: 'x', datatype: 'FP16', shape: [0, 4], parameters: { binary_data_size: 0 } }] },
      [],
    );
    assert.equal((request.inputs[0].data as Uint8Array).length, 0);
  });

  const body = (header: object, binaries: Uint8Array[]) => encodeInferBody(header, binaries);
  const x = fp32('x', [1, 2, 3, 4, 5, 6], [2, 3]);

  it('refuses a binary_data_size when the Inference-Header-Content-Length header is missing', () => {
    const framed = body({ inputs: [{ name: 'j', datatype: 'INT8', shape: [1], data: [1] }, x.header] }, [x.bytes]);
    refuses(
      () => readInferRequest(framed.body, undefined, LIMITS),
      "input 'x' has parameters.binary_data_size but the request has no Inference-Header-Content-Length header; " +
        `send it with the length of the JSON header in bytes (${framed.headerLength} here)`,
    );
    const empty = { name: 'e', datatype: 'FP32', shape: [0], parameters: { binary_data_size: 0 } };
    refuses(
      () => readInferRequest(body({ inputs: [empty] }, []).body, undefined, LIMITS),
      "input 'e' has parameters.binary_data_size but the request has no Inference-Header-Content-Length header; " +
        'send it with the length of the JSON header in bytes',
    );
  });

  it('still calls junk after a JSON body that asks for no binary data invalid JSON', () => {
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'j', datatype: 'INT8', shape: [1], data: [1] }] }));
    assert.throws(
      () => readInferRequest(Buffer.concat([json, Buffer.from('xyz')]), undefined, LIMITS),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        e.message.startsWith(`The JSON header (${json.length + 3} bytes) is not valid JSON`),
    );
  });

  it('refuses a header length longer than the body, or not a byte count', () => {
    const framed = body({ inputs: [x.header] }, [x.bytes]);
    refuses(
      () => readInferRequest(framed.body, String(framed.body.length + 1), LIMITS),
      `Inference-Header-Content-Length is ${framed.body.length + 1}, longer than the whole body (${framed.body.length} bytes)`,
    );
    for (const value of ['-1', '1.5', '', ' 12', '0x10', '12, 12', '99999999999999999']) {
      refuses(
        () => readInferRequest(framed.body, value, LIMITS),
        `Inference-Header-Content-Length must be the JSON header's length in bytes, got ${JSON.stringify(value)}`,
      );
    }
  });

  it('refuses a header length that cuts the JSON', () => {
    const framed = body({ inputs: [x.header] }, [x.bytes]);
    assert.throws(
      () => readInferRequest(framed.body, String(framed.headerLength - 1), LIMITS),
      (e: unknown) => e instanceof InvalidInputError && e.message.startsWith('The JSON header'),
    );
  });

  it('refuses a binary_data_size that does not match shape x datatype', () => {
    refuses(
      () => readBinary({ inputs: [{ ...x.header, parameters: { binary_data_size: 12 } }] }, [x.bytes.subarray(0, 12)]),
      "input 'x' has binary_data_size 12, but shape [2, 3] x FP32 needs 24 bytes",
    );
    refuses(
      () => readBinary({ inputs: [{ ...x.header, datatype: 'FP64' }] }, [x.bytes]),
      "input 'x' has binary_data_size 24, but shape [2, 3] x FP64 needs 48 bytes",
    );
  });

  it('refuses sizes that are not byte counts or overflow', () => {
    for (const size of [-1, 1.5, '24', 2 ** 53, 1e300, null]) {
      refuses(
        () => readBinary({ inputs: [{ ...x.header, parameters: { binary_data_size: size } }] }, [x.bytes]),
        `input 'x' has parameters.binary_data_size ${String(size === '24' ? '"24"' : size)}, not a byte count`,
      );
    }
    refuses(
      () =>
        readBinary(
          { inputs: [{ ...x.header, shape: [2 ** 40, 2 ** 40], parameters: { binary_data_size: 2 ** 52 } }] },
          [x.bytes],
        ),
      "input 'x' has shape [1099511627776, 1099511627776], which takes the request past MAX_TENSOR_ELEMENTS",
    );
  });

  it('refuses data and binary both', () => {
    refuses(
      () => readBinary({ inputs: [{ ...x.header, data: [1, 2, 3, 4, 5, 6] }] }, [x.bytes]),
      `input 'x' has both "data" and parameters.binary_data_size; send one of them`,
    );
  });

  it('refuses a truncated body, naming the input whose data is cut', () => {
    const y = fp32('y', [7, 8]);
    refuses(
      () => readBinary({ inputs: [x.header, y.header] }, [x.bytes, y.bytes.subarray(0, 5)]),
      "input 'y' has binary_data_size 8 but only 5 bytes of the body are left: the body is truncated",
    );
  });

  it('refuses bytes after the last binary input', () => {
    refuses(
      () => readBinary({ inputs: [x.header] }, [x.bytes, new Uint8Array(3)]),
      'The body has 3 bytes after the binary data of its inputs (their binary_data_size add up to 24); ' +
        'check Inference-Header-Content-Length and each binary_data_size',
    );
    refuses(
      () => readBinary({ inputs: [{ name: 'j', datatype: 'FP32', shape: [1], data: [1] }] }, [new Uint8Array(4)]),
      'The body has 4 bytes after the binary data of its inputs (their binary_data_size add up to 0); ' +
        'check Inference-Header-Content-Length and each binary_data_size',
    );
  });

  describe('BYTES elements', () => {
    const strings = (shape: number[], bytes: Uint8Array) =>
      readBinary(
        { inputs: [{ name: 's', datatype: 'BYTES', shape, parameters: { binary_data_size: bytes.length } }] },
        [bytes],
      );
    const framed = bytesOf('BYTES', ['ab', 'c']); // 4+2 + 4+1 = 11 bytes

    it('refuses a length prefix that runs past the tensor, even with more body after it', () => {
      const lying = Buffer.from(framed);
      lying.writeUInt32LE(1000, 6);
      refuses(
        () => strings([2], lying),
        "input 's' has BYTES element 1 of 1000 bytes, which runs past the end of its 11 bytes",
      );
      const next = fp32('x', [1, 2]);
      refuses(
        () =>
          readBinary(
            {
              inputs: [{ name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 11 } }, next.header],
            },
            [lying, next.bytes],
          ),
        "input 's' has BYTES element 1 of 1000 bytes, which runs past the end of its 11 bytes",
      );
    });

    it('refuses a prefix cut by the end of the tensor', () => {
      refuses(
        () => strings([3], Buffer.concat([framed, Buffer.from([1, 0])])),
        "input 's' has BYTES element 2 whose length prefix runs past the end of its 13 bytes; shape [3] needs 3 BYTES elements",
      );
    });

    it('refuses fewer or more elements than the shape holds', () => {
      refuses(
        () => strings([3], framed),
        "input 's' has BYTES element 2 whose length prefix runs past the end of its 11 bytes; shape [3] needs 3 BYTES elements",
      );
      refuses(
        () => strings([2], Buffer.concat([bytesOf('BYTES', ['', '']), Buffer.alloc(4)])),
        "input 's' has 4 bytes after its 2 BYTES elements; shape [2] needs 2 BYTES elements",
      );
      refuses(
        () => strings([1], framed),
        "input 's' has 5 bytes after its 1 BYTES elements; shape [1] needs 1 BYTES elements",
      );
    });

    it('refuses an element that is not UTF-8', () => {
      const bad = Buffer.concat([bytesOf('BYTES', ['ok']), Buffer.from([2, 0, 0, 0, 0xc3, 0x28])]);
      refuses(() => strings([2], bad), "input 's' has BYTES element 1 that is not valid UTF-8");
    });

    it('keeps a byte-order mark inside an element', () => {
      assert.deepEqual(strings([1], bytesOf('BYTES', ['\ufeffa'])).inputs[0].data, ['\ufeffa']);
    });
  });
});

describe('the building blocks for gRPC', () => {
  it('inputFromRaw views numeric bytes and checks their size', () => {
    const bytes = bytesOf('UINT16', [1, 2, 3]);
    const input = inputFromRaw('u', 'UINT16', [3], bytes, { left: 10 });
    assert.equal(input.data, bytes);
    refuses(
      () => inputFromRaw('u', 'UINT16', [2, 2], bytes, { left: 10 }),
      "input 'u' has 6 bytes of raw data, but shape [2, 2] x UINT16 needs 8 bytes",
    );
  });

  it('takes elements from a shared budget', () => {
    const budget = { left: 5 };
    inputFromValues('a', 'FP32', [3], [1, 2, 3], budget);
    assert.equal(budget.left, 2);
    refuses(
      () => inputFromRaw('b', 'FP32', [3], bytesOf('FP32', [1, 2, 3]), budget),
      "input 'b' has shape [3], which takes the request past MAX_TENSOR_ELEMENTS",
    );
  });

  it('inputFromValues takes BYTES as UTF-8 bytes (gRPC bytes_contents) and 64-bit integers as decimal strings', () => {
    const text = inputFromValues('s', 'BYTES', [2], [Buffer.from('é'), 'b'], { left: 10 });
    assert.deepEqual(text.data, ['é', 'b']);
    refuses(
      () => inputFromValues('s', 'BYTES', [1], [Buffer.from([0xff])], { left: 10 }),
      "input 's' has BYTES element 0 that is not valid UTF-8",
    );
    const big = inputFromValues('i', 'UINT64', [1], ['18446744073709551615'], { left: 10 });
    assert.deepEqual(valuesOf('UINT64', big.data as Uint8Array), [2n ** 64n - 1n]);
  });

  it('inputFromValues takes 64-bit integers as BigInts, and never a number past 2^53, which may be rounded', () => {
    const big = inputFromValues('i', 'INT64', [2], [-(2n ** 63n), 2n ** 53n + 1n], { left: 10 });
    assert.deepEqual(valuesOf('INT64', big.data as Uint8Array), [-(2n ** 63n), 2n ** 53n + 1n]);
    refuses(
      () => inputFromValues('i', 'INT64', [1], [2 ** 53], { left: 10 }),
      "input 'i' value 9007199254740992 at flat index 0 is not representable as INT64 " +
        '(a number past 2^53 may already be rounded; send it as a decimal string)',
    );
  });

  it('inputFromValues reads a typed array of values, and refuses an empty name', () => {
    const input = inputFromValues('f', 'FP64', [2], new Float64Array([0.5, 2]), { left: 10 });
    assert.deepEqual(valuesOf('FP64', input.data as Uint8Array), [0.5, 2]);
    refuses(() => inputFromValues('', 'FP64', [1], [1], { left: 10 }), "input '' needs a name of 1 to 1024 characters");
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesOf, encodeInferBody } from '../../test/support/oip-wire';
import { readInferRequest } from './infer-request';
import { hashOipInputs } from './oip-hash';
import type { OipInput } from './oip-types';

const LIMITS = { maxElements: 1000 };

/** The same inputs sent as JSON data and as binary data, read by the request reader. */
function bothWays(
  inputs: {
    name: string;
    datatype: string;
    shape: number[];
    values: (number | boolean | string)[];
    json?: unknown[];
  }[],
) {
  const json = readInferRequest(
    Buffer.from(
      JSON.stringify({ inputs: inputs.map(({ values, json, ...rest }) => ({ ...rest, data: json ?? values })) }),
    ),
    undefined,
    LIMITS,
  );
  const binaries = inputs.map(({ datatype, values }) => bytesOf(datatype as 'FP32', values));
  const header = {
    inputs: inputs.map(({ values: _, json: __, ...rest }, i) => ({
      ...rest,
      parameters: { binary_data_size: binaries[i].length },
    })),
  };
  const { body, headerLength } = encodeInferBody(header, binaries);
  return { json: json.inputs, binary: readInferRequest(body, String(headerLength), LIMITS).inputs };
}

describe('hashOipInputs', () => {
  it('hashes a tensor sent as JSON, nested JSON or binary the same', () => {
    const { json, binary } = bothWays([
      {
        name: 'x',
        datatype: 'FP32',
        shape: [2, 2],
        values: [0.5, -1, 3, 1e-3],
        json: [
          [0.5, -1],
          [3, 1e-3],
        ],
      },
      { name: 'half', datatype: 'FP16', shape: [2], values: [0.1, -2] },
      { name: 'big', datatype: 'INT64', shape: [1], values: [-5], json: ['-5'] },
      { name: 'ok', datatype: 'BOOL', shape: [1], values: [true] },
      { name: 's', datatype: 'BYTES', shape: [3], values: ['', 'a', 'é€'] },
    ]);
    assert.equal(hashOipInputs(json), hashOipInputs(binary));
  });

  it('does not depend on the order of inputs', () => {
    const a: OipInput = { name: 'a', datatype: 'UINT8', shape: [1], data: bytesOf('UINT8', [1]) };
    const b: OipInput = { name: 'b', datatype: 'UINT8', shape: [1], data: bytesOf('UINT8', [2]) };
    assert.equal(hashOipInputs([a, b]), hashOipInputs([b, a]));
  });

  it('tells apart names, datatypes, shapes, values and string boundaries', () => {
    const base: OipInput = { name: 'x', datatype: 'INT32', shape: [2], data: bytesOf('INT32', [1, 2]) };
    const variants: OipInput[] = [
      { ...base, name: 'y' },
      { ...base, datatype: 'UINT32' },
      { ...base, shape: [1, 2] },
      { ...base, data: bytesOf('INT32', [1, 3]) },
    ];
    const hashes = new Set([base, ...variants].map((input) => hashOipInputs([input])));
    assert.equal(hashes.size, 5);
    const split = (data: string[]): OipInput => ({ name: 's', datatype: 'BYTES', shape: [data.length], data });
    assert.notEqual(hashOipInputs([split(['ab', 'c'])]), hashOipInputs([split(['a', 'bc'])]));
  });
});

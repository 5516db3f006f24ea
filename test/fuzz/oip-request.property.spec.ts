import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../../src/common/errors';
import { elementCount } from '../../src/inference/tensor';
import { readInferRequest } from '../../src/oip/infer-request';
import { elementBytes, OIP_DATATYPES, OipDatatype } from '../../src/oip/oip-datatypes';
import { hashOipInputs } from '../../src/oip/oip-hash';
import type { OipInferRequest } from '../../src/oip/oip-types';
import { bytesOf, encodeInferBody, valuesOf, WireValue } from '../support/oip-wire';
import { mutatedJson } from './json-bodies';
import { toJsonText } from './json-text';
import { described, preview, runs } from './property-support';

const MAX_ELEMENTS = 10_000;
const LIMITS = { maxElements: MAX_ELEMENTS };

/** One element: its value on the wire (bytesOf) and how a client writes it in JSON. */
function element(datatype: OipDatatype): fc.Arbitrary<{ wire: WireValue; json: unknown }> {
  const same = (arb: fc.Arbitrary<WireValue>) => arb.map((v) => ({ wire: v, json: v }));
  const bigint = (min: bigint, max: bigint) =>
    fc.bigInt({ min, max }).map((v) => ({
      wire: v,
      json: v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v.toString(),
    }));
  switch (datatype) {
    case 'BOOL':
      return same(fc.boolean());
    case 'UINT8':
      return same(fc.integer({ min: 0, max: 255 }));
    case 'INT8':
      return same(fc.integer({ min: -128, max: 127 }));
    case 'UINT16':
      return same(fc.integer({ min: 0, max: 65535 }));
    case 'INT16':
      return same(fc.integer({ min: -32768, max: 32767 }));
    case 'UINT32':
      return same(fc.integer({ min: 0, max: 4294967295 }));
    case 'INT32':
      return same(fc.integer({ min: -2147483648, max: 2147483647 }));
    case 'UINT64':
      return bigint(0n, 2n ** 64n - 1n);
    case 'INT64':
      return bigint(-(2n ** 63n), 2n ** 63n - 1n);
    // JSON writes -0 as 0 (JSON.stringify), so floats are generated without it: x + 0 is 0 for -0.
    case 'FP16':
      return same(fc.double({ min: -65519, max: 65519, noNaN: true }).map((v) => v + 0));
    case 'FP32':
      return same(fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => v + 0));
    case 'FP64':
      return same(fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => v + 0));
    case 'BYTES':
      // Well-formed text only: a lone surrogate has no UTF-8 form to send as binary.
      return same(fc.string({ unit: 'grapheme', maxLength: 4 }));
  }
}

type Encoding = 'flat' | 'nested' | 'binary';

interface InputCase {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  values: { wire: WireValue; json: unknown }[];
  encoding: Encoding;
}

/** Flat row-major values as nested arrays of `shape` (rank 0 stays a one-element list). */
function nest(flat: unknown[], shape: number[]): unknown[] {
  if (shape.length <= 1) return flat;
  const [first, ...rest] = shape;
  const size = elementCount(rest);
  return Array.from({ length: first }, (_, i) => nest(flat.slice(i * size, (i + 1) * size), rest));
}

const inputCase: fc.Arbitrary<Omit<InputCase, 'name'>> = fc
  .record({
    datatype: fc.constantFrom(...OIP_DATATYPES),
    shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    encoding: fc.constantFrom<Encoding>('flat', 'nested', 'binary'),
  })
  .chain(({ datatype, shape, encoding }) => {
    const count = elementCount(shape);
    return fc
      .array(element(datatype), { minLength: count, maxLength: count })
      .map((values) => ({ datatype, shape, values, encoding }));
  });

interface RequestCase {
  inputs: InputCase[];
  outputs?: { name: string; parameters?: { binary_data: boolean } }[];
  binaryOutput?: boolean;
}

const requestCase: fc.Arbitrary<RequestCase> = fc.record(
  {
    inputs: fc
      .uniqueArray(fc.tuple(fc.stringMatching(/^[a-z_][a-z0-9_:./]{0,6}$/), inputCase), {
        minLength: 1,
        maxLength: 4,
        selector: ([name]) => name,
      })
      .map((entries) => entries.map(([name, input]) => ({ name, ...input }))),
    outputs: fc.uniqueArray(
      fc.record(
        { name: fc.stringMatching(/^[a-z]{1,4}$/), parameters: fc.record({ binary_data: fc.boolean() }) },
        { requiredKeys: ['name'] },
      ),
      { selector: (o) => o.name, minLength: 1, maxLength: 3 },
    ),
    binaryOutput: fc.boolean(),
  },
  { requiredKeys: ['inputs'] },
);

/** What a client sends for the case: JSON inputs in the header, binary ones after it in order. */
function parts(request: RequestCase): { header: object; binaries: Buffer[] } {
  const binaries: Buffer[] = [];
  const inputs = request.inputs.map(({ name, datatype, shape, values, encoding }) => {
    if (encoding !== 'binary') {
      const flat = values.map((v) => v.json);
      return { name, datatype, shape, data: encoding === 'nested' ? nest(flat, shape) : flat };
    }
    const bytes = bytesOf(
      datatype,
      values.map((v) => v.wire),
    );
    binaries.push(bytes);
    return { name, datatype, shape, parameters: { binary_data_size: bytes.length } };
  });
  const header = {
    id: 'case',
    inputs,
    ...(request.outputs && { outputs: request.outputs }),
    ...(request.binaryOutput !== undefined && { parameters: { binary_data_output: request.binaryOutput } }),
  };
  return { header, binaries };
}

function frame(request: RequestCase): { body: Buffer; headerLength: number; binary: boolean } {
  const { header, binaries } = parts(request);
  return { ...encodeInferBody(header, binaries), binary: binaries.length > 0 };
}

/** The same case with every input sent as binary data. */
function allBinary(request: RequestCase): RequestCase {
  return { ...request, inputs: request.inputs.map((input) => ({ ...input, encoding: 'binary' })) };
}

function read(framed: { body: Buffer; headerLength: number; binary: boolean }): OipInferRequest {
  return readInferRequest(framed.body, framed.binary ? String(framed.headerLength) : undefined, LIMITS);
}

/** The reader's promise on any bytes: a well-formed request whose data lies inside the body, or an InvalidInputError. */
function readChecked(body: Buffer, headerLength: string | undefined): OipInferRequest | undefined {
  let request: OipInferRequest;
  try {
    request = readInferRequest(body, headerLength, LIMITS);
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, `expected an InvalidInputError, got ${String(error)}`);
    return undefined;
  }
  let total = 0;
  for (const input of request.inputs) {
    const count = elementCount(input.shape);
    total += count;
    const size = elementBytes(input.datatype);
    if (size === undefined) assert.equal((input.data as string[]).length, count);
    else {
      const data = input.data as Uint8Array;
      assert.equal(data.length, count * size, `bytes of ${input.name}`);
      if (data.buffer === body.buffer) {
        assert.ok(data.byteOffset >= body.byteOffset && data.byteOffset + data.length <= body.byteOffset + body.length);
      }
    }
  }
  assert.ok(total <= MAX_ELEMENTS);
  return request;
}

const frames = requestCase.map((request) =>
  described({ request, framed: frame(allBinary(request)) }, (v) =>
    JSON.stringify(v.request, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)),
  ),
);

describe('readInferRequest (property)', () => {
  it('reads any valid request, JSON, nested or binary, to exactly the values sent', () => {
    fc.assert(
      fc.property(requestCase, (request) => {
        const parsed = read(frame(request));
        assert.equal(parsed.id, 'case');
        assert.equal(parsed.binaryOutputs, request.binaryOutput ?? false);
        assert.deepEqual(
          parsed.outputs?.map((o) => [o.name, o.binary]),
          request.outputs?.map((o) => [o.name, o.parameters?.binary_data ?? request.binaryOutput ?? false]),
        );
        request.inputs.forEach(({ name, datatype, shape, values }, i) => {
          const input = parsed.inputs[i];
          assert.deepEqual([input.name, input.datatype, input.shape], [name, datatype, shape]);
          const data = Array.isArray(input.data) ? input.data : valuesOf(datatype, input.data);
          const expected = valuesOf(
            datatype,
            bytesOf(
              datatype,
              values.map((v) => v.wire),
            ),
          );
          assert.deepEqual(data, expected, name);
        });
        assert.equal(hashOipInputs(parsed.inputs), hashOipInputs(read(frame(allBinary(request))).inputs));
      }),
      runs(400),
    );
  });

  it('answers any truncation of a valid binary frame with a request or an InvalidInputError', () => {
    fc.assert(
      fc.property(frames, fc.nat(), ({ framed }, cut) => {
        const body = framed.body.subarray(0, cut % (framed.body.length + 1));
        readChecked(body, String(framed.headerLength));
        readChecked(body, undefined);
      }),
      runs(400),
    );
  });

  it('answers random byte corruptions of a valid binary frame the same way', () => {
    const corruption = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(frames, corruption, ({ framed }, changes) => {
        const body = Buffer.from(framed.body);
        for (const [at, byte] of changes) if (body.length > 0) body[at % body.length] = byte;
        readChecked(body, String(framed.headerLength));
      }),
      runs(400),
    );
  });

  it('answers any header length, plausible or not, the same way', () => {
    const headerLength = fc.oneof(
      fc.integer({ min: 0, max: 400 }).map(String),
      fc.constantFrom('', '-1', '1e3', ' 1', '0x10', '9007199254740993', '99999999999999999999', '1,2'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(frames, headerLength, ({ framed }, length) => void readChecked(framed.body, length)),
      runs(400),
    );
  });

  it('answers a valid header with one hostile value, extra key or missing key inside the same way', () => {
    const mutated = requestCase.chain((request) => {
      const { header, binaries } = parts(request);
      return mutatedJson(fc.constant(header)).map((m) =>
        described({ json: Buffer.from(toJsonText(m.value)), binaries }, () => `${m.label}: ${preview(m.value)}`),
      );
    });
    fc.assert(
      fc.property(mutated, ({ json, binaries }) => {
        readChecked(Buffer.concat([json, ...binaries]), String(json.length));
        readChecked(Buffer.concat([json, ...binaries]), undefined);
      }),
      runs(400),
    );
  });

  it('answers random bytes after a valid JSON header the same way', () => {
    fc.assert(
      fc.property(frames, fc.uint8Array({ maxLength: 64 }), ({ framed }, tail) => {
        const header = framed.body.subarray(0, framed.headerLength);
        readChecked(Buffer.concat([header, tail]), String(framed.headerLength));
      }),
      runs(400),
    );
  });

  it('reads 64-bit integers written as exact JSON digits (as Triton and numpy send them) back exactly', () => {
    const arrays = fc.oneof(
      fc.bigInt64Array({ maxLength: 20 }).map((data) => ({ datatype: 'INT64', data })),
      fc.bigUint64Array({ maxLength: 20 }).map((data) => ({ datatype: 'UINT64', data })),
    );
    fc.assert(
      fc.property(arrays, ({ datatype, data }) => {
        const text = `{"inputs":[{"name":"i","datatype":"${datatype}","shape":[${data.length}],"data":[${data.join(',')}]}]}`;
        const input = readInferRequest(Buffer.from(text), undefined, LIMITS).inputs[0];
        assert.deepEqual(input.data, new Uint8Array(data.buffer));
      }),
      runs(400),
    );
  });
});

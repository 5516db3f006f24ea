import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../common/errors';
import type { OipInferResult } from '../oip-types';
import { inferenceServiceDefinition, InferParameters, ModelInferRequestMessage } from './grpc-definition';
import { inferParametersOf, inferRequestOf, inferResponseOf, parametersOf, tensorBytes } from './grpc-infer';

const definition = inferenceServiceDefinition();
const modelInfer = definition.ModelInfer;

/** A ModelInferRequest as the server gets it: written by a client, encoded, read with the server's options. */
function received(request: object): ModelInferRequestMessage {
  return modelInfer.requestDeserialize(modelInfer.requestSerialize(request)) as ModelInferRequestMessage;
}

/** A ModelInferResponse as a client gets it. */
function sent(response: object): Record<string, unknown> {
  return modelInfer.responseDeserialize(modelInfer.responseSerialize(response)) as Record<string, unknown>;
}

/** The first byte of a message with only `fields` set: the tag of its field number (length-delimited). */
const tagOf = (serialize: (value: object) => Buffer, fields: object): number => serialize(fields)[0];
const lengthDelimited = (field: number): number => (field << 3) | 2;

const budget = () => ({ left: 1_000_000 });

function rejects(request: object, pattern: RegExp): void {
  assert.throws(
    () => inferRequestOf(received(request), budget()),
    (error: unknown) => error instanceof InvalidInputError && pattern.test(error.message),
  );
}

describe('grpc_predict_v2.proto', () => {
  it('numbers the fields of ModelInferRequest and ModelInferResponse as KServe does', () => {
    const request = (fields: object) => modelInfer.requestSerialize(fields);
    assert.equal(tagOf(request, { model_name: 'm' }), lengthDelimited(1));
    assert.equal(tagOf(request, { model_version: '1' }), lengthDelimited(2));
    assert.equal(tagOf(request, { id: 'r' }), lengthDelimited(3));
    assert.equal(tagOf(request, { parameters: { k: { bool_param: true } } }), lengthDelimited(4));
    assert.equal(tagOf(request, { inputs: [{ name: 'x' }] }), lengthDelimited(5));
    assert.equal(tagOf(request, { outputs: [{ name: 'y' }] }), lengthDelimited(6));
    assert.equal(tagOf(request, { raw_input_contents: [Buffer.from([1])] }), lengthDelimited(7));
    const response = (fields: object) => modelInfer.responseSerialize(fields);
    assert.equal(tagOf(response, { outputs: [{ name: 'y' }] }), lengthDelimited(5));
    assert.equal(tagOf(response, { raw_output_contents: [Buffer.from([1])] }), lengthDelimited(6));
    // InferInputTensor.contents is field 5; in it, fp32_contents is field 6 (packed).
    const input = modelInfer.requestSerialize({ inputs: [{ contents: { fp32_contents: [1] } }] });
    assert.deepEqual([...input.subarray(2, 4)], [lengthDelimited(5), 6]);
    assert.equal(input[4], lengthDelimited(6));
  });
});

describe('parameters', () => {
  it('reads each InferParameter member as a plain value, 64-bit integers exactly', () => {
    const parameters: InferParameters = {
      flag: { bool_param: true },
      count: { int64_param: 42 },
      huge: { int64_param: '9007199254740993' },
      unsigned: { uint64_param: '18446744073709551615' },
      ratio: { double_param: 0.25 },
      label: { string_param: 'a' },
      empty: {},
    };
    const read = received({ parameters }).parameters;
    assert.deepEqual(parametersOf(read), {
      flag: true,
      count: 42,
      huge: '9007199254740993',
      unsigned: '18446744073709551615',
      ratio: 0.25,
      label: 'a',
    });
    assert.equal(parametersOf({}), undefined);
  });

  it('writes plain values back as InferParameters: integers as int64, other numbers as double, the rest as text', () => {
    assert.deepEqual(inferParametersOf({ a: true, b: 3, c: 1.5, d: 'x', e: 10n, f: { g: 1 }, h: undefined }), {
      a: { bool_param: true },
      b: { int64_param: 3 },
      c: { double_param: 1.5 },
      d: { string_param: 'x' },
      e: { int64_param: '10' },
      f: { string_param: '{"g":1}' },
    });
  });
});

describe('tensorBytes', () => {
  it('counts raw contents as received, typed contents at 8 bytes an element and bytes elements at their length', () => {
    const message = received({
      inputs: [
        { name: 'f', datatype: 'FP32', shape: [3], contents: { fp32_contents: [1, 2, 3] } },
        {
          name: 's',
          datatype: 'BYTES',
          shape: [2],
          contents: { bytes_contents: [Buffer.from('ab'), Buffer.from('cde')] },
        },
        { name: 'r', datatype: 'FP32', shape: [4] },
      ],
      raw_input_contents: [],
    });
    assert.equal(tensorBytes(message), 3 * 8 + 5);
    assert.equal(
      tensorBytes(
        received({ inputs: [{ name: 'r', datatype: 'FP32', shape: [4] }], raw_input_contents: [Buffer.alloc(16)] }),
      ),
      16,
    );
  });
});

describe('inferRequestOf', () => {
  it('reads typed contents of each datatype into the wire layout the engine takes', () => {
    const request = inferRequestOf(
      received({
        id: 'req-1',
        parameters: { priority: { int64_param: 2 } },
        inputs: [
          { name: 'f', datatype: 'FP32', shape: [2], contents: { fp32_contents: [1.5, -2] } },
          { name: 'i', datatype: 'INT64', shape: [2], contents: { int64_contents: ['9007199254740993', '-1'] } },
          { name: 'b', datatype: 'BOOL', shape: [1, 2], contents: { bool_contents: [true, false] } },
          { name: 'u', datatype: 'UINT8', shape: [2], contents: { uint_contents: [0, 255] } },
          {
            name: 's',
            datatype: 'BYTES',
            shape: [2],
            contents: { bytes_contents: [Buffer.from('héllo'), Buffer.from('')] },
          },
        ],
        outputs: [{ name: 'y', parameters: { classification: { int64_param: 3 } } }],
      }),
      budget(),
    );
    assert.equal(request.id, 'req-1');
    assert.deepEqual(request.parameters, { priority: 2 });
    assert.deepEqual(request.outputs, [{ name: 'y', binary: true, parameters: { classification: 3 } }]);
    assert.equal(request.binaryOutputs, true);
    const [f, i, b, u, s] = request.inputs;
    assert.deepEqual([...new Float32Array(new Uint8Array(f.data as Uint8Array).buffer)], [1.5, -2]);
    assert.deepEqual([...new BigInt64Array(new Uint8Array(i.data as Uint8Array).buffer)], [9007199254740993n, -1n]);
    assert.deepEqual({ shape: b.shape, data: [...(b.data as Uint8Array)] }, { shape: [1, 2], data: [1, 0] });
    assert.deepEqual([...(u.data as Uint8Array)], [0, 255]);
    assert.deepEqual(s.data, ['héllo', '']);
  });

  it('keeps raw_input_contents as views of the received message, and passes input parameters through', () => {
    const raw = Buffer.from(Float32Array.of(1, 2, 3, 4).buffer);
    const message = received({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { note: { string_param: 'n' } } }],
      raw_input_contents: [raw],
    });
    const [x] = inferRequestOf(message, budget()).inputs;
    assert.equal((x.data as Uint8Array).buffer, message.raw_input_contents[0].buffer, 'no copy');
    assert.deepEqual(Buffer.from(x.data as Uint8Array), raw);
    assert.deepEqual(x.parameters, { note: 'n' });
    assert.equal(inferRequestOf(message, budget()).outputs, undefined, 'no outputs named: every output');
  });
});

describe('inferRequestOf: refusals that name the tensor', () => {
  const x = { name: 'x', datatype: 'FP32', shape: [1, 2] };

  it('refuses typed contents and raw_input_contents together', () => {
    rejects(
      { inputs: [{ ...x, contents: { fp32_contents: [1, 2] } }], raw_input_contents: [Buffer.alloc(8)] },
      /input 'x' has contents while raw_input_contents is set/,
    );
  });

  it('refuses raw_input_contents whose count is not the number of inputs', () => {
    rejects(
      { inputs: [x, { ...x, name: 'y' }], raw_input_contents: [Buffer.alloc(8)] },
      /raw_input_contents has 1 entries for 2 inputs/,
    );
  });

  it('refuses raw contents of the wrong size, BYTES that are not UTF-8 and more elements than the budget', () => {
    rejects(
      { inputs: [x], raw_input_contents: [Buffer.alloc(12)] },
      /input 'x' has 12 bytes of raw data, but shape \[1, 2\] x FP32 needs 8 bytes/,
    );
    rejects(
      { inputs: [{ name: 's', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from([0xff])] } }] },
      /input 's' has BYTES element 0 that is not valid UTF-8/,
    );
    assert.throws(
      () => inferRequestOf(received({ inputs: [x], raw_input_contents: [Buffer.alloc(8)] }), { left: 1 }),
      (error: unknown) => error instanceof InvalidInputError && /input 'x'/.test(error.message),
    );
  });

  it('refuses an unknown datatype, an input without contents, FP16 as contents and a field of another datatype', () => {
    rejects(
      { inputs: [{ ...x, datatype: 'FLOAT', contents: { fp32_contents: [1, 2] } }] },
      /input 'x' has datatype "FLOAT"; expected one of BOOL/,
    );
    rejects({ inputs: [x] }, /input 'x' has no contents/);
    rejects({ inputs: [{ ...x, datatype: 'FP16', contents: {} }] }, /input 'x' is FP16, which has no contents field/);
    rejects(
      { inputs: [{ ...x, contents: { int_contents: [1, 2] } }] },
      /input 'x' is FP32: its elements go in fp32_contents, not int_contents/,
    );
  });
});

describe('inferResponseOf', () => {
  it('answers every output as raw contents, in order, with its datatype, shape, the id and the version', () => {
    const result: OipInferResult = {
      modelName: 'mlp',
      modelVersion: '2',
      id: 'req-7',
      parameters: { sequence_end: true },
      outputs: [
        {
          name: 'y',
          datatype: 'FP32',
          shape: [1, 2],
          raw: new Uint8Array(Float32Array.of(1.5, -2).buffer),
          binary: true,
        },
        { name: 'n', datatype: 'INT64', shape: [], raw: new Uint8Array(8).fill(0xff), binary: true },
      ],
      cache: 'MISS',
      stages: {},
    };
    const response = sent(inferResponseOf(result));
    assert.equal(response.model_name, 'mlp');
    assert.equal(response.model_version, '2');
    assert.equal(response.id, 'req-7');
    assert.deepEqual(response.parameters, { sequence_end: { bool_param: true, parameter_choice: 'bool_param' } });
    assert.deepEqual(
      (response.outputs as Array<Record<string, unknown>>).map(({ name, datatype, shape }) => ({
        name,
        datatype,
        shape,
      })),
      [
        { name: 'y', datatype: 'FP32', shape: ['1', '2'] },
        { name: 'n', datatype: 'INT64', shape: [] },
      ],
    );
    const raw = response.raw_output_contents as Buffer[];
    assert.deepEqual([...new Float32Array(new Uint8Array(raw[0]).buffer)], [1.5, -2]);
    assert.deepEqual([...raw[1]], Array(8).fill(0xff));
    assert.equal(sent(inferResponseOf({ ...result, id: undefined })).id, '', 'no id: the empty string');
  });
});

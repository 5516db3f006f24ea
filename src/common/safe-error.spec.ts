import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException, InternalServerErrorException } from '@nestjs/common';
import { inferenceFailure } from '../inference/engine-errors';
import { InvalidInputError, NotFoundError, TimeoutError } from './errors';
import { internalDetail, SAFE_ERROR_KINDS, toSafeError } from './safe-error';

const ORT_RESHAPE =
  "Non-zero status code returned while running Reshape node. Name:'Reshape_y' Status Message: " +
  '/onnxruntime_src/onnxruntime/core/providers/cpu/tensor/reshape_helper.h:84 ' +
  'onnxruntime::ReshapeHelper::ReshapeHelper(const onnxruntime::TensorShape&, onnxruntime::TensorShapeVector&, bool) ' +
  'size != 0 && (input_shape_size % size) == 0 was false. The input tensor cannot be reshaped to the requested shape.';

describe('toSafeError', () => {
  it('keeps the kind and message of domain errors, which are written for clients', () => {
    assert.deepEqual(toSafeError(new InvalidInputError('inputs.x is missing'), 'request id r'), {
      kind: 'invalid',
      message: 'inputs.x is missing',
    });
    assert.deepEqual(toSafeError(new TimeoutError('too slow'), 'job id j'), { kind: 'timeout', message: 'too slow' });
    assert.equal(internalDetail(new NotFoundError('gone')), undefined, 'nothing is hidden, nothing to log');
  });

  it('turns anything else into internal, pointing to the server log, and keeps the raw text for the log', () => {
    const error = new Error('SQLITE_ERROR: no such column: secret_column');
    assert.deepEqual(toSafeError(error, 'job id 1234'), {
      kind: 'internal',
      message: 'Internal error; the server log has the details under job id 1234',
    });
    assert.match(internalDetail(error) ?? '', /secret_column/);
    assert.equal(toSafeError(new InternalServerErrorException('db down'), 'request id r').kind, 'internal');
    assert.equal(toSafeError('a string', 'request id r').kind, 'internal');
  });

  it("keeps a Nest 4xx exception's kind by status and its message", () => {
    assert.deepEqual(toSafeError(new BadRequestException('limit must be an integer'), 'request id r'), {
      kind: 'invalid',
      message: 'limit must be an integer',
    });
  });

  it('every kind it can answer is in the documented enum', () => {
    for (const kind of ['invalid', 'not_found', 'timeout', 'inference_failed', 'output_too_large', 'internal']) {
      assert.ok(SAFE_ERROR_KINDS.includes(kind as never), kind);
    }
  });
});

describe('inferenceFailure (an ONNX Runtime run error)', () => {
  it('answers a fixed message naming the node and its operator, and keeps the raw text for the log only', () => {
    const error = inferenceFailure(ORT_RESHAPE);
    const safe = toSafeError(error, 'request id r');
    assert.deepEqual(safe, {
      kind: 'inference_failed',
      message:
        "ONNX Runtime rejected the inputs at node 'Reshape_y' (Reshape); check their values and shapes against the model",
    });
    assert.equal(internalDetail(error), ORT_RESHAPE);
    assert.equal(error.kind, 'invalid', 'still a 400');
  });

  it('cuts a node name to 64 characters of a plain alphabet', () => {
    const raw = `Non-zero status code returned while running Add node. Name:'${'é<script>'.repeat(20)}' Status Message: x`;
    const { message } = inferenceFailure(raw);
    assert.match(message, /at node '[A-Za-z0-9_./:-]{64}' \(Add\)/);
  });

  it('names no node when the text does not say which', () => {
    assert.equal(
      inferenceFailure('/onnxruntime_src/core/session.cc:1 something failed').message,
      'ONNX Runtime rejected the inputs; check their values and shapes against the model',
    );
  });
});

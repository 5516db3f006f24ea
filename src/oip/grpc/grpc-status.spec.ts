import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import {
  ConflictError,
  ForbiddenError,
  InsufficientStorageError,
  InvalidInputError,
  ModelNotFoundError,
  PayloadTooLargeError,
  TimeoutError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnavailableError,
  UnprocessableError,
} from '../../common/errors';
import { inferenceFailure, OutputTooLargeError } from '../../inference/engine-errors';
import { grpcStatusOf } from './grpc-status';

const statusOf = (error: unknown) => grpcStatusOf(error, 'req-1', new Metadata());

describe('grpcStatusOf', () => {
  it('gives each error kind the code KServe and Triton answer, with the message written for clients', () => {
    const cases: Array<[unknown, GrpcStatus]> = [
      [new InvalidInputError("Input 'x': expected 16 bytes, got 12"), GrpcStatus.INVALID_ARGUMENT],
      [inferenceFailure("while running Reshape node. Name:'r' oops"), GrpcStatus.INVALID_ARGUMENT],
      [new UnprocessableError('unusable'), GrpcStatus.INVALID_ARGUMENT],
      [new UnauthenticatedError('Missing credentials'), GrpcStatus.UNAUTHENTICATED],
      [new ForbiddenError('needs the role predictor'), GrpcStatus.PERMISSION_DENIED],
      [new ModelNotFoundError('iris'), GrpcStatus.NOT_FOUND],
      [new ConflictError('version 2 is not ready'), GrpcStatus.FAILED_PRECONDITION],
      [new PayloadTooLargeError('too large'), GrpcStatus.RESOURCE_EXHAUSTED],
      [new OutputTooLargeError('outputs too large'), GrpcStatus.RESOURCE_EXHAUSTED],
      [new TooManyRequestsError('rate limit'), GrpcStatus.RESOURCE_EXHAUSTED],
      [new InsufficientStorageError('disk full'), GrpcStatus.RESOURCE_EXHAUSTED],
      [new UnavailableError('shutting down'), GrpcStatus.UNAVAILABLE],
      [new TimeoutError('INFERENCE_TIMEOUT_MS'), GrpcStatus.DEADLINE_EXCEEDED],
    ];
    for (const [error, code] of cases) {
      const status = statusOf(error);
      assert.equal(status.code, code, (error as Error).message);
      assert.ok(status.details.startsWith((error as Error).message.slice(0, 20)), status.details);
    }
  });

  it('answers INTERNAL with a generic message naming the request id for anything else: no text, no stack', () => {
    const error = new Error('SQLITE_ERROR: no such column: secret_column');
    const status = statusOf(error);
    assert.equal(status.code, GrpcStatus.INTERNAL);
    assert.equal(status.details, 'Internal error; the server log has the details under request id req-1');
    assert.ok(!status.details.includes('secret_column') && !status.details.includes('    at '));
  });

  it('keeps the trailers, with retry-after added for errors that carry it', () => {
    const trailers = new Metadata();
    trailers.set('ratelimit-limit', '60');
    const status = grpcStatusOf(new TooManyRequestsError('Rate limit exceeded', 7), 'req-2', trailers);
    assert.equal(status.metadata, trailers);
    assert.deepEqual(trailers.get('retry-after'), ['7']);
    assert.deepEqual(trailers.get('ratelimit-limit'), ['60']);
    assert.deepEqual(statusOf(new InvalidInputError('no retry')).metadata.get('retry-after'), []);
  });
});

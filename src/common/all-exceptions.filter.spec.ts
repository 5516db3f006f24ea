import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  ArgumentsHost,
  BadRequestException,
  HttpException,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import type { HttpArgumentsHost } from '@nestjs/common/interfaces';
import type { Request, Response } from 'express';
import { strictFake } from '../../test/support/strict-fake';
import { InferenceFailedError, OutputTooLargeError } from '../inference/engine-errors';
import { AllExceptionsFilter, MAX_ERROR_MESSAGE_CHARS } from './all-exceptions.filter';
import {
  ConflictError,
  DomainError,
  ErrorKind,
  ForbiddenError,
  InsufficientStorageError,
  InvalidInputError,
  ModelNotFoundError,
  NotFoundError,
  PayloadTooLargeError,
  STATUS_BY_KIND,
  TimeoutError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnavailableError,
  UnprocessableError,
  VersionNotFoundError,
} from './errors';

/** What the filter did to the response. */
interface Answer {
  status?: number;
  headers: Record<string, string>;
  body?: Record<string, unknown>;
  ended: boolean;
}

/**
 * Runs the filter on `exception` for a request with id `requestId` (none: undefined), against a
 * strict response that has only the members the filter may use. Returns what it answered and
 * what it logged as an unhandled error.
 */
function answer(
  t: TestContext,
  exception: unknown,
  options: { requestId?: string; headersSent?: boolean; path?: string } = {},
): Answer & { logged: unknown[] } {
  const logged: unknown[] = [];
  t.mock.method(Logger.prototype, 'error', (entry: unknown) => logged.push(entry));
  const result: Answer = { headers: {}, ended: false };
  const response: Response = strictFake<Response>('Response', {
    headersSent: options.headersSent ?? false,
    setHeader(name: string, value: string) {
      assert.equal(result.body, undefined, 'a header after the body');
      result.headers[name] = value;
      return response;
    },
    status(code: number) {
      result.status = code;
      return response;
    },
    json(body: Record<string, unknown>) {
      assert.equal(result.body, undefined, 'a second body');
      result.body = body;
      return response;
    },
    end() {
      result.ended = true;
      return response;
    },
  } as Partial<Response>);
  const request = strictFake<Request>('Request', {
    id: options.requestId,
    path: options.path ?? '/api/v1/models',
  } as Partial<Request>);
  const host = strictFake<ArgumentsHost>('ArgumentsHost', {
    switchToHttp: () =>
      strictFake<HttpArgumentsHost>('HttpArgumentsHost', {
        getRequest: <T>() => request as T,
        getResponse: <T>() => response as T,
      }),
  });
  new AllExceptionsFilter().catch(exception, host);
  return { ...result, logged };
}

const DETAILS = [{ field: 'inputs.x', problem: 'expected 4 values' }];

/** Every domain error the services throw, with the status and reason phrase it must become. */
const DOMAIN_CASES: { error: DomainError; status: number; phrase: string }[] = [
  { error: new InvalidInputError('bad input', DETAILS), status: 400, phrase: 'Bad Request' },
  { error: new UnauthenticatedError('no credential'), status: 401, phrase: 'Unauthorized' },
  { error: new ForbiddenError('not your model'), status: 403, phrase: 'Forbidden' },
  { error: new NotFoundError('no such thing'), status: 404, phrase: 'Not Found' },
  { error: new ModelNotFoundError('iris'), status: 404, phrase: 'Not Found' },
  { error: new VersionNotFoundError('iris', 3), status: 404, phrase: 'Not Found' },
  { error: new ConflictError('exists'), status: 409, phrase: 'Conflict' },
  { error: new PayloadTooLargeError('too big'), status: 413, phrase: 'Payload Too Large' },
  { error: new DomainError('unsupported_media', 'send JSON'), status: 415, phrase: 'Unsupported Media Type' },
  { error: new UnprocessableError('not a model', DETAILS), status: 422, phrase: 'Unprocessable Entity' },
  { error: new TooManyRequestsError('slow down', 7), status: 429, phrase: 'Too Many Requests' },
  { error: new UnavailableError('try later', 5), status: 503, phrase: 'Service Unavailable' },
  { error: new UnavailableError('try later'), status: 503, phrase: 'Service Unavailable' },
  { error: new TimeoutError('too slow'), status: 504, phrase: 'Gateway Timeout' },
  { error: new InsufficientStorageError('disk full'), status: 507, phrase: 'Insufficient Storage' },
  {
    error: new InferenceFailedError('rejected', 'onnxruntime.cc:123 internal text'),
    status: 400,
    phrase: 'Bad Request',
  },
  { error: new OutputTooLargeError('outputs too large', DETAILS), status: 422, phrase: 'Unprocessable Entity' },
];

describe('AllExceptionsFilter: domain errors', () => {
  it('has a case for every error kind', () => {
    const covered = new Set(DOMAIN_CASES.map((c) => c.error.kind));
    assert.deepEqual([...covered].sort(), (Object.keys(STATUS_BY_KIND) as ErrorKind[]).sort());
  });

  for (const { error, status, phrase } of DOMAIN_CASES) {
    it(`${error.name} (${error.kind}) → ${status} with the error body and its headers`, (t) => {
      const got = answer(t, error, { requestId: 'req-1' });
      assert.equal(got.status, status);
      assert.deepEqual(got.body, {
        statusCode: status,
        error: phrase,
        message: error.message,
        requestId: 'req-1',
        ...(error.details ? { details: error.details } : {}),
      });
      const headers: Record<string, string> = {};
      if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
      if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="modelforge"';
      assert.deepEqual(got.headers, headers);
      assert.equal(got.ended, false);
      // 503, 504 and 507 are the service telling the client to come back, not a fault to log.
      assert.deepEqual(got.logged, []);
    });
  }

  it('keeps what ONNX Runtime said out of the body of an InferenceFailedError', (t) => {
    const got = answer(t, new InferenceFailedError('ONNX Runtime rejected the inputs', 'onnxruntime.cc:123 secret'));
    assert.doesNotMatch(JSON.stringify(got.body), /onnxruntime\.cc|secret/);
  });

  it('says "unknown" when the request has no id', (t) => {
    assert.equal(answer(t, new ConflictError('x')).body?.requestId, 'unknown');
  });
});

describe('AllExceptionsFilter: the Open Inference Protocol under /v2', () => {
  for (const path of ['/v2', '/v2/models/iris/infer']) {
    it(`answers exactly {error} on ${path}, with the status and headers of any other path`, (t) => {
      const got = answer(t, new UnauthenticatedError('no credential'), { path, requestId: 'r-1' });
      assert.equal(got.status, 401);
      assert.deepEqual(got.body, { error: 'no credential' });
      assert.match(got.headers['WWW-Authenticate'], /^Bearer/);
      const busy = answer(t, new TooManyRequestsError('queue full', 3), { path });
      assert.deepEqual(busy.body, { error: 'queue full' });
      assert.equal(busy.headers['Retry-After'], '3');
    });
  }

  it('keeps the shared body on paths that only start like it (/v2x, /api/v2)', (t) => {
    for (const path of ['/v2x', '/api/v2/models']) {
      assert.equal(answer(t, new ConflictError('exists'), { path }).body?.statusCode, 409, path);
    }
  });
});

describe('AllExceptionsFilter: anything else', () => {
  const unknowns: [string, unknown][] = [
    ['an Error', new Error('connect ECONNREFUSED postgres://admin:hunter2@db/models')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'secret')")],
    ['a string', 'password=hunter2'],
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['an object without a type', { status: 400, message: 'hunter2' }],
  ];
  for (const [what, thrown] of unknowns) {
    it(`${what} → 500 with a fixed message, logged but not leaked`, (t) => {
      const got = answer(t, thrown, { requestId: 'req-9' });
      assert.equal(got.status, 500);
      assert.deepEqual(got.body, {
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'Internal server error; the request id identifies it in the logs',
        requestId: 'req-9',
      });
      assert.deepEqual(got.headers, {});
      assert.doesNotMatch(JSON.stringify(got.body), /hunter2|secret|ECONNREFUSED/);
      assert.equal(got.logged.length, 1);
      const entry = got.logged[0] as { msg: string; requestId: string; err: unknown };
      assert.equal(entry.msg, 'Unhandled error');
      assert.equal(entry.requestId, 'req-9');
      if (thrown instanceof Error) {
        assert.deepEqual(entry.err, { message: thrown.message, stack: thrown.stack });
      } else {
        assert.deepEqual(entry.err, thrown);
      }
    });
  }

  it('a 500 HttpException keeps its own message and is logged', (t) => {
    const got = answer(t, new HttpException('boom', 500));
    assert.equal(got.status, 500);
    assert.equal(got.body?.message, 'boom');
    assert.equal(got.logged.length, 1);
  });
});

describe('AllExceptionsFilter: HTTP exceptions and middleware errors', () => {
  const cases: { what: string; thrown: unknown; status: number; phrase: string; message: string }[] = [
    {
      what: 'NotFoundException',
      thrown: new NotFoundException('Cannot GET /x'),
      status: 404,
      phrase: 'Not Found',
      message: 'Cannot GET /x',
    },
    {
      what: 'BadRequestException with a list',
      thrown: new BadRequestException(['a must be a string', 'b is unknown']),
      status: 400,
      phrase: 'Bad Request',
      message: 'a must be a string; b is unknown',
    },
    {
      what: 'HttpException with a string body',
      thrown: new HttpException('teapot', 418),
      status: 418,
      phrase: 'I Am A Teapot',
      message: 'teapot',
    },
    {
      what: 'HttpException with an object body without message',
      thrown: new HttpException({ reason: 'x' }, 409),
      status: 409,
      phrase: 'Conflict',
      message: 'Http Exception',
    },
    { what: 'an unnamed status', thrown: new HttpException('odd', 499), status: 499, phrase: 'Error', message: 'odd' },
    {
      what: 'body-parser’s limit, wrapped by the Express adapter',
      thrown: new PayloadTooLargeException('request entity too large', {
        cause: { type: 'entity.too.large', limit: 1024 },
      }),
      status: 413,
      phrase: 'Payload Too Large',
      message: 'Request body exceeds the limit of 1024 bytes',
    },
    {
      what: 'malformed JSON',
      thrown: { type: 'entity.parse.failed', message: 'Unexpected token } in JSON' },
      status: 400,
      phrase: 'Bad Request',
      message: 'Malformed JSON body: Unexpected token } in JSON',
    },
    {
      what: 'malformed JSON without a message',
      thrown: { type: 'entity.parse.failed' },
      status: 400,
      phrase: 'Bad Request',
      message: 'Malformed JSON body: cannot parse',
    },
    {
      what: 'a body over the limit without the limit',
      thrown: { type: 'entity.too.large' },
      status: 413,
      phrase: 'Payload Too Large',
      message: 'Request body exceeds the limit of ? bytes',
    },
    {
      what: 'an unsupported encoding',
      thrown: { type: 'encoding.unsupported', message: 'unsupported content encoding "br"' },
      status: 415,
      phrase: 'Unsupported Media Type',
      message: 'unsupported content encoding "br"',
    },
    {
      what: 'an unsupported charset without a message',
      thrown: { type: 'charset.unsupported' },
      status: 415,
      phrase: 'Unsupported Media Type',
      message: 'Unsupported content encoding',
    },
    {
      what: 'an aborted request',
      thrown: { type: 'request.aborted' },
      status: 400,
      phrase: 'Bad Request',
      message: 'Request aborted by the client',
    },
    {
      what: 'an exposed 4xx http-error',
      thrown: { type: 'stream.not.readable', expose: true, status: 400, message: 'stream is not readable' },
      status: 400,
      phrase: 'Bad Request',
      message: 'stream is not readable',
    },
    {
      what: 'an exposed 4xx http-error without a message',
      thrown: { type: 'x', expose: true, status: 411 },
      status: 411,
      phrase: 'Length Required',
      message: 'Bad request',
    },
  ];
  for (const { what, thrown, status, phrase, message } of cases) {
    it(`${what} → ${status}`, (t) => {
      const got = answer(t, thrown, { requestId: 'r' });
      assert.equal(got.status, status);
      assert.deepEqual(got.body, { statusCode: status, error: phrase, message, requestId: 'r' });
    });
  }

  it('an http-error that is not exposed, or not a 4xx, is a 500 that hides its message', (t) => {
    for (const thrown of [
      { type: 'x', expose: false, status: 400, message: 'hidden' },
      { type: 'x', expose: true, status: 502, message: 'hidden' },
    ]) {
      const got = answer(t, thrown);
      assert.equal(got.status, 500);
      assert.doesNotMatch(String(got.body?.message), /hidden/);
    }
  });
});

describe('AllExceptionsFilter: bounds and a response already started', () => {
  it('cuts a message to MAX_ERROR_MESSAGE_CHARS', (t) => {
    const got = answer(t, new InvalidInputError('x'.repeat(10_000)));
    const message = String(got.body?.message);
    assert.equal(message.length, MAX_ERROR_MESSAGE_CHARS);
    assert.ok(message.endsWith('…'));
  });

  it('keeps 50 details, says how many more there were, and cuts long fields and problems', (t) => {
    const details = Array.from({ length: 60 }, (_, i) => ({
      field: `f${i}`.padEnd(300, 'f'),
      problem: 'p'.repeat(900),
    }));
    const got = answer(t, new InvalidInputError('many', details));
    const shown = got.body?.details as { field: string; problem: string }[];
    assert.equal(shown.length, 51);
    assert.equal(shown[0].field.length, 200);
    assert.ok(shown[0].field.startsWith('f0'));
    assert.equal(shown[0].problem.length, 500);
    assert.deepEqual(shown[50], { field: '…', problem: '10 more problems not shown' });
  });

  it('leaves short details as they are', (t) => {
    assert.deepEqual(answer(t, new InvalidInputError('one', DETAILS)).body?.details, DETAILS);
  });

  it('only ends a response whose headers were already sent', (t) => {
    const got = answer(t, new ConflictError('late'), { headersSent: true });
    assert.equal(got.ended, true);
    assert.equal(got.status, undefined);
    assert.equal(got.body, undefined);
    assert.deepEqual(got.headers, {});
  });

  it('still logs an unknown error whose response had already started', (t) => {
    const got = answer(t, new Error('mid-stream'), { headersSent: true });
    assert.equal(got.ended, true);
    assert.equal(got.logged.length, 1);
  });
});

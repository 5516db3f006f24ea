import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import type { AppConfig } from '../config/app-config';
import { httpLogger } from './http-logger';
import { createRootLogger } from './logger';

const SECRET = 'hunter2-secret-value';

describe('httpLogger (pino-http)', () => {
  const lines: Record<string, unknown>[] = [];
  let server: ReturnType<express.Express['listen']>;
  let base: string;

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const app = express();
    app.use(
      httpLogger(
        createRootLogger({ log: { level: 'debug', format: 'json' } as AppConfig['log'], secrets: [SECRET] }, sink),
      ),
    );
    app.get('/api/things/:name', (_req, res) => void res.status(201).json({ ok: true }));
    app.get('/health/live', (_req, res) => void res.json({ status: 'ok' }));
    app.get('/broken', (_req, res) => void res.status(503).end());
    await new Promise<void>((resolve) => (server = app.listen(0, '127.0.0.1', () => resolve())));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** The line of the request with this id (written when its response has finished). */
  async function lineOf(id: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 1_000; i++) {
      const line = lines.find((l) => l.requestId === id);
      if (line) return line;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`no log line for ${id}`);
  }

  it('writes one line per request with exactly the request fields, and echoes a sane X-Request-Id', async () => {
    const res = await fetch(`${base}/api/things/one?token=abc`, {
      headers: { 'X-Request-Id': 'req-1', Authorization: 'Bearer not-logged', Cookie: 'c=not-logged' },
    });
    assert.equal(res.headers.get('x-request-id'), 'req-1');
    const line = await lineOf('req-1');
    assert.deepEqual(Object.keys(line).sort(), [
      'context',
      'durationMs',
      'level',
      'method',
      'msg',
      'path',
      'requestId',
      'route',
      'service',
      'status',
      'time',
    ]);
    assert.deepEqual(
      { context: line.context, method: line.method, route: line.route, path: line.path, status: line.status },
      { context: 'HTTP', method: 'GET', route: '/api/things/:name', path: '/api/things/one', status: 201 },
    );
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'request completed');
    assert.equal(typeof line.durationMs, 'number');
    assert.ok(!JSON.stringify(lines).includes('not-logged'), 'no header is logged');
    assert.ok(!JSON.stringify(lines).includes('token=abc'), 'no query string is logged');
  });

  it('generates an id when the client sends none or an unsafe one', async () => {
    const none = await fetch(`${base}/api/things/two`);
    const unsafe = await fetch(`${base}/api/things/three`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    for (const res of [none, unsafe]) {
      const id = res.headers.get('x-request-id') ?? '';
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.equal((await lineOf(id)).status, 201);
    }
    assert.notEqual(none.headers.get('x-request-id'), unsafe.headers.get('x-request-id'));
  });

  it('logs successful probes at debug, client errors at warn and server errors at error', async () => {
    const ids = ['probe', 'missing', 'broken'];
    await fetch(`${base}/health/live`, { headers: { 'X-Request-Id': ids[0] } });
    await fetch(`${base}/nowhere`, { headers: { 'X-Request-Id': ids[1] } });
    await fetch(`${base}/broken`, { headers: { 'X-Request-Id': ids[2] } });
    const levels = await Promise.all(ids.map(async (id) => (await lineOf(id)).level));
    assert.deepEqual(levels, [20, 40, 50]);
    const broken = await lineOf('broken');
    assert.equal(broken.msg, 'request completed');
    assert.equal(broken.err, undefined, 'no made-up error object for a 5xx');
  });

  it('scrubs configured secrets from request lines too', async () => {
    await fetch(`${base}/api/things/${SECRET}`, { headers: { 'X-Request-Id': 'secret-path' } });
    const line = await lineOf('secret-path');
    assert.equal(line.path, '/api/things/***');
    assert.ok(!JSON.stringify(lines).includes(SECRET));
  });
});

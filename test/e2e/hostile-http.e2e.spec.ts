import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { CacheStore } from '../../src/cache/cache-store';
import { testEngines } from '../support/postgres';
import { authed, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/** Regression tests for what issue 8 found by attacking the HTTP surface from outside. */

function nested(depth: number, leaf = '1'): string {
  return '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
}

function assertErrorBody(res: request.Response, status: number): void {
  assert.equal(res.status, status, JSON.stringify(res.body).slice(0, 300));
  assert.equal(res.body.statusCode, status);
  assert.equal(typeof res.body.message, 'string');
  assert.equal(typeof res.body.requestId, 'string');
}

const NOT_DECIMAL = ['1e20', '99999999999999999999', '0x10', ' 1', '1 ', '+1', '1.0', '-0', '2147483648', ''];

for (const engine of testEngines()) {
  describe(`hostile HTTP input on ${engine}`, () => {
    let t: TestApp;
    const http = () => authed(t);

    before(async () => {
      t = await startTestApp(engine);
      await http().post('/api/v1/models').send({ name: 'iris' }).expect(201);
    });
    after(async () => {
      await t?.close();
    });

    describe('deep nesting (finding 1)', () => {
      for (const [method, path] of [
        ['post', '/api/v1/models'],
        ['patch', '/api/v1/models/iris'],
      ] as const) {
        it(`${method.toUpperCase()} ${path} with tags nested 5,000 deep answers 400 and changes nothing`, async () => {
          const body = `{"name":"deep","description":"changed","tags":${nested(5000)}}`.replace(
            method === 'patch' ? '"name":"deep",' : '',
            '',
          );
          const res = await http()[method](path).set('Content-Type', 'application/json').send(body);
          assertErrorBody(res, 400);
          assert.match(res.body.message, /nested deeper than 64 levels/);
          await http().get('/api/v1/models/deep').expect(404);
          const iris = await http().get('/api/v1/models/iris').expect(200);
          assert.equal(iris.body.description, '');
        });
      }

      it('brackets inside strings do not count as nesting', async () => {
        const res = await http()
          .post('/api/v1/models')
          .send({ name: 'brackets', description: '['.repeat(500) + '{'.repeat(500) })
          .expect(201);
        assert.equal(res.body.description.length, 1000);
      });
    });

    it('refuses null for optional registry fields instead of writing NULL (found by the fuzzer)', async () => {
      for (const field of ['tags', 'description', 'cache', 'logPayloads', 'batching']) {
        const patched = await http()
          .patch('/api/v1/models/iris')
          .send({ [field]: null });
        assertErrorBody(patched, 400);
        const created = await http()
          .post('/api/v1/models')
          .send({ name: `null-${field.toLowerCase()}`, [field]: null });
        assertErrorBody(created, 400);
      }
      const iris = await http().get('/api/v1/models/iris').expect(200);
      assert.deepEqual(iris.body.tags, []);
      assert.equal(iris.body.description, '');
    });

    describe('strict integers in query and path parameters (finding 2)', () => {
      const lists = ['/api/v1/models', '/api/v1/models/iris/versions', '/api/v1/predictions', '/api/v1/jobs'];
      for (const path of lists) {
        for (const name of ['skip', 'limit']) {
          it(`GET ${path} refuses non-decimal ${name} with 400`, async () => {
            for (const value of NOT_DECIMAL) {
              const res = await http().get(`${path}?${name}=${encodeURIComponent(value)}`);
              assertErrorBody(res, 400);
              assert.match(res.body.message, new RegExp(`${name} must be a decimal integer`), `${name}=${value}`);
            }
            const repeated = await http().get(`${path}?${name}=1&${name}=2`);
            assertErrorBody(repeated, 400);
          });
        }
      }

      it('accepts the documented maximum skip', async () => {
        const res = await http().get('/api/v1/models?skip=2147483647').expect(200);
        assert.deepEqual(res.body.items, []);
        assert.equal(res.body.skip, 2147483647);
      });

      it('refuses non-decimal versions in paths and in the prediction log filter', async () => {
        for (const value of NOT_DECIMAL.filter((v) => v.trim() !== '')) {
          assertErrorBody(await http().get(`/api/v1/models/iris/versions/${encodeURIComponent(value)}`), 400);
          assertErrorBody(await http().get(`/api/v1/predictions?version=${encodeURIComponent(value)}`), 400);
        }
      });
    });
  });
}

describe('request bodies (finding 3)', () => {
  let t: TestApp;
  const http = () => authed(t);
  const BUDGET = 64 * 1024;

  before(async () => {
    t = await startTestApp('sqlite', { env: { MAX_INFLIGHT_BODY_BYTES: String(BUDGET) }, listen: true });
  });
  after(async () => {
    await t?.close();
  });

  async function inflightBodyBytes(): Promise<number> {
    const text = (await http().get('/metrics').expect(200)).text;
    const line = text.split('\n').find((l) => l.startsWith('modelforge_http_inflight_body_bytes '));
    assert.ok(line, 'the gauge is exported');
    return Number(line.split(' ')[1]);
  }

  it('routes that take no body never parse one', async () => {
    for (const path of ['/health/live', '/health/ready', '/api/v1/models/iris', '/metrics', '/docs-json']) {
      const res = await http().post(path).set('Content-Type', 'application/json').send('{"broken": ');
      assert.notEqual(res.status, 400, `${path} parsed a body it does not take`);
      assert.ok(res.status === 404, `${path}: ${res.status}`);
    }
    const list = await http().get('/api/v1/models').set('Content-Type', 'application/json').send('{"broken": ');
    assert.equal(list.status, 200);
  });

  it('registry bodies have their own small limit', async () => {
    const res = await http()
      .post('/api/v1/models')
      .send({ name: 'big', description: 'x'.repeat(1024 * 1024) });
    assertErrorBody(res, 413);
    assert.match(res.body.message, /MAX_REGISTRY_BODY_BYTES/);
  });

  it('refuses a body announced over the limit before reading it', async () => {
    const { status, head } = await rawRequest(
      t.baseUrl!,
      `POST /api/v1/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_ADMIN_KEY}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${64 * 1024 * 1024}\r\n\r\n{"model":`,
    );
    assert.equal(status, 413);
    assert.match(head, /connection: close/i);
  });

  it('answers 503 with Retry-After past MAX_INFLIGHT_BODY_BYTES, and frees the budget when a body ends', async () => {
    const held = BUDGET - 4096;
    const socket = net.connect(Number(new URL(t.baseUrl!).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const prefix = '{"model":"nosuch","inputs":{"x":"';
    socket.write(
      `POST /api/v1/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_ADMIN_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${held}\r\n\r\n${prefix}`,
    );
    await waitFor(async () => (await inflightBodyBytes()) === held, { what: 'the held body to be reserved' });

    const refused = await http()
      .post('/api/v1/predictions')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ model: 'nosuch', inputs: { x: 'y'.repeat(8192) } }));
    assertErrorBody(refused, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.match(refused.body.message, /MAX_INFLIGHT_BODY_BYTES/);
    // Small bodies of registry routes share the same budget.
    assertErrorBody(
      await http()
        .post('/api/v1/models')
        .send({ name: 'waits', description: 'z'.repeat(5000) }),
      503,
    );
    // Routes without a body are not affected.
    await http().get('/health/live').expect(200);

    socket.write('z'.repeat(held - prefix.length - 3) + '"}}');
    await waitFor(() => answer.includes('\r\n\r\n'), { what: 'the held request to be answered' });
    assert.match(answer, /^HTTP\/1\.1 404/);
    await waitFor(async () => (await inflightBodyBytes()) === 0, { what: 'the budget to be released' });
    await http()
      .post('/api/v1/models')
      .send({ name: 'waits', description: 'z'.repeat(1000) })
      .expect(201);
    socket.destroy();
  });

  it('answers what Node refuses before the app (framing, header size, Expect, no Host) with the error body', async () => {
    for (const [text, status] of [
      ['GET /health/live HTTP/1.1\r\n\r\n', 400],
      [`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: garbage\r\n\r\n', 417],
      ['POST /api/v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ] as const) {
      const { status: got, head, body } = await rawRequest(t.baseUrl!, text);
      assert.equal(got, status, head);
      assert.match(head, /x-request-id: \S+/i);
      const parsed = JSON.parse(body) as { statusCode: number; message: string; requestId: string };
      assert.equal(parsed.statusCode, status);
      assert.equal(typeof parsed.message, 'string');
      assert.equal(typeof parsed.requestId, 'string');
    }
  });

  it('refuses compressed and non-UTF-8 bodies with 415', async () => {
    const gz = await http()
      .post('/api/v1/models')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{"name":"gz"}');
    assertErrorBody(gz, 415);
    const latin = await http()
      .post('/api/v1/models')
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{"name":"latin"}');
    assertErrorBody(latin, 415);
  });
});

describe('bounded error bodies (finding 12)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite');
  });
  after(async () => {
    await t?.close();
  });

  it('keeps the message under 2 KB and details bounded, whatever the input', async () => {
    const body: Record<string, string> = { name: 'many' };
    for (let i = 0; i < 5000; i++) body[`unknown_field_with_a_long_name_${i}`] = 'x';
    const res = await authed(t).post('/api/v1/models').send(body);
    assertErrorBody(res, 400);
    assert.ok(res.body.message.length <= 2048, `message of ${res.body.message.length} chars`);
    assert.ok(res.body.details.length <= 51, `${res.body.details.length} details`);
    assert.ok(res.text.length < 64 * 1024, `error body of ${res.text.length} bytes`);
  });
});

describe('unknown model names create nothing (finding 5)', () => {
  const redisUrl = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
  for (const store of ['memory', 'redis'] as const) {
    it(`predictions for names that do not exist leave no cache generation in the ${store} store`, async () => {
      const t = await startTestApp('sqlite', { env: store === 'redis' ? { REDIS_URL: redisUrl } : {} });
      try {
        const names = Array.from({ length: 20 }, () => `nosuch-${randomBytes(6).toString('hex')}`);
        for (const name of names) {
          // Both paths: inline parse (small body) and a body parsed in a worker (over 16 KiB).
          for (const pad of ['', ' '.repeat(20 * 1024)]) {
            const res = await authed(t)
              .post('/api/v1/predictions')
              .set('Content-Type', 'application/json')
              .send(`{"model":"${name}","inputs":{"x":[1]}}${pad}`);
            assertErrorBody(res, 404);
          }
        }
        const cache = t.app.get(CacheStore);
        for (const name of names) assert.equal(await cache.getEpoch(name), null, name);
        if (store === 'redis') {
          const keys = execFileSync('redis-cli', ['-u', redisUrl, '--scan', '--pattern', '*nosuch-*']).toString();
          for (const name of names) assert.ok(!keys.includes(name), `a Redis key was created for ${name}`);
        }
      } finally {
        await t.close();
      }
    });
  }
});

/** Writes a raw HTTP request and resolves with the status, head and body of the answer. */
async function rawRequest(baseUrl: string, text: string): Promise<{ status: number; head: string; body: string }> {
  const socket = net.connect(Number(new URL(baseUrl).port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  socket.write(text);
  let ended = false;
  socket.on('end', () => (ended = true));
  socket.on('error', () => (ended = true));
  await waitFor(() => answer.includes('\r\n\r\n'), { what: 'an answer' });
  const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
  const chunked = /transfer-encoding: chunked/i.test(head);
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
  const complete = () =>
    chunked ? answer.endsWith('\r\n0\r\n\r\n') : Buffer.byteLength(answer) >= head.length + 4 + length;
  await waitFor(() => ended || complete(), { what: 'the whole answer' });
  socket.destroy();
  const rest = answer.slice(head.length + 4);
  // A chunked body here is one JSON document in one chunk: the JSON between its braces.
  const body = chunked ? rest.slice(rest.indexOf('{'), rest.lastIndexOf('}') + 1) : rest;
  return { status: Number(head.split(' ')[1]), head, body };
}

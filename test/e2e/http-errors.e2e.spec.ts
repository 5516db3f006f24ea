import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authed, startTestApp, TestApp } from '../support/test-app';

/** The error body and X-Request-Id contract of docs/api.md, for every way a request can fail. */
describe('error responses', () => {
  let t: TestApp;
  const http = () => authed(t);

  before(async () => {
    t = await startTestApp('sqlite', { env: { MAX_REGISTRY_BODY_BYTES: '2048' } });
  });
  after(async () => {
    await t?.close();
  });

  function assertErrorBody(body: Record<string, unknown>, status: number, requestId?: string): void {
    assert.equal(body.statusCode, status);
    assert.equal(typeof body.error, 'string');
    assert.equal(typeof body.message, 'string');
    assert.equal(typeof body.requestId, 'string');
    if (requestId) assert.equal(body.requestId, requestId);
    assert.ok(!JSON.stringify(body).includes('    at '), 'no stack trace in an error body');
  }

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await http()
      .post('/api/v1/models')
      .set('Content-Type', 'application/json')
      .send('{"name": "broken",')
      .expect(400);
    assertErrorBody(res.body, 400, res.headers['x-request-id']);
    assert.match(res.body.message, /Malformed JSON body/);
    await http().get('/api/v1/models/broken').expect(404);
  });

  it('answers an oversize JSON body with 413', async () => {
    const res = await http()
      .post('/api/v1/models')
      .send({ name: 'big', description: 'x'.repeat(4096) })
      .expect(413);
    assertErrorBody(res.body, 413);
    assert.match(res.body.message, /exceeds the limit of 2048 bytes \(MAX_REGISTRY_BODY_BYTES\)/);
    await http().get('/api/v1/models/big').expect(404);
  });

  it('answers an unknown route with 404 and the error body', async () => {
    const res = await http().get('/api/v1/nothing-here').expect(404);
    assertErrorBody(res.body, 404, res.headers['x-request-id']);
    assert.equal(res.body.error, 'Not Found');
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await http().post('/api/v1/models').set('Content-Type', 'text/plain').send('name=iris').expect(415);
    assertErrorBody(res.body, 415);
    assert.match(res.body.message, /application\/json/);
  });

  it('echoes a client X-Request-Id on success and on error', async () => {
    const ok = await http().get('/health/live').set('X-Request-Id', 'client-req-42').expect(200);
    assert.equal(ok.headers['x-request-id'], 'client-req-42');
    const failed = await http().get('/api/v1/models/ghost').set('X-Request-Id', 'client-req-43').expect(404);
    assert.equal(failed.headers['x-request-id'], 'client-req-43');
    assert.equal(failed.body.requestId, 'client-req-43');
  });

  it('replaces an unsafe X-Request-Id with a generated one', async () => {
    const res = await http().get('/health/live').set('X-Request-Id', 'bad id with spaces').expect(200);
    assert.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  });

  it('generates a distinct request id per request', async () => {
    const a = await http().get('/health/live');
    const b = await http().get('/health/live');
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });

  it('lists every validation problem in details', async () => {
    const res = await http().post('/api/v1/models').send({ name: 'UPPER', tags: 'x', extra: true }).expect(400);
    assertErrorBody(res.body, 400);
    const fields = (res.body.details as { field: string }[]).map((d) => d.field).sort();
    assert.deepEqual([...new Set(fields)], ['extra', 'name', 'tags']);
  });
});

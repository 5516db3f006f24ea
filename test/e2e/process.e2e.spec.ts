import assert from 'node:assert/strict';
import * as http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { ServiceProcess, spawnService } from '../support/service-process';

/** Sends headers and the first half of a JSON body, leaving the request in flight. */
function startSlowPost(baseUrl: string, body: string) {
  const url = new URL('/api/v1/models', baseUrl);
  const req = http.request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  req.write(body.slice(0, half));
  return { finish: () => req.end(body.slice(half)), response, abort: () => req.destroy() };
}

describe('the service process', () => {
  let service: ServiceProcess | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  it('refuses to start on bad configuration, one line per bad variable', async () => {
    service = await spawnService({ PORT: 'eighty', LOG_LEVEL: 'loud', MAX_MODEL_BYTES: '-5' }, false);
    const { code } = await service.exited;
    assert.equal(code, 2);
    const lines = service
      .stderr()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('config error: '));
    assert.equal(lines.length, 3, service.stderr());
    assert.ok(lines.some((l) => l.startsWith('config error: PORT="eighty"')));
    assert.ok(lines.some((l) => l.startsWith('config error: LOG_LEVEL="loud"')));
    assert.ok(lines.some((l) => l.startsWith('config error: MAX_MODEL_BYTES="-5"')));
  });

  it('on SIGTERM turns readiness 503 at once, finishes in-flight requests, then exits 0', async () => {
    service = await spawnService({ SHUTDOWN_DRAIN_MS: '1500', SHUTDOWN_GRACE_MS: '10000' });
    const slow = startSlowPost(service.baseUrl, JSON.stringify({ name: 'in-flight', description: 'x'.repeat(200) }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ready = await fetch(`${service.baseUrl}/health/ready`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { status: string }).status, 'shutting_down');
    slow.finish();
    const result = await slow.response;
    assert.equal(result.status, 201, result.body);
    const { code } = await service.exited;
    assert.equal(code, 0, service.stderr());
    assert.ok(Date.now() - signalledAt < 10_000);
    assert.match(service.stdout(), /shutdown complete/);
  });

  it('exits within the grace period even when a request never finishes', async () => {
    service = await spawnService({ SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_GRACE_MS: '1000' });
    const stuck = startSlowPost(service.baseUrl, JSON.stringify({ name: 'stuck' }));
    stuck.response.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    const { code } = await service.exited;
    const elapsed = Date.now() - signalledAt;
    assert.equal(code, 1);
    assert.ok(elapsed >= 900 && elapsed < 5_000, `exited after ${elapsed} ms`);
    stuck.abort();
  });

  it('logs one structured JSON line per request without bodies or credentials', async () => {
    service = await spawnService({});
    await fetch(`${service.baseUrl}/api/v1/models`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: 'Bearer top-secret-token',
        'X-Request-Id': 'log-1',
      },
      body: JSON.stringify({ name: 'logged', description: 'secret-description-text' }),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = service
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.requestId === 'log-1');
    assert.ok(line, 'request line logged');
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/api/v1/models');
    assert.equal(line.status, 201);
    assert.equal(typeof line.durationMs, 'number');
    assert.ok(!service.stdout().includes('top-secret-token'));
    assert.ok(!service.stdout().includes('secret-description-text'));
  });
});

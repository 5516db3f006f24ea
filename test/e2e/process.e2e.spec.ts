import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ServiceProcess, spawnService } from '../support/service-process';
import { TEST_ADMIN_KEY } from '../support/credentials';
import { waitFor } from '../support/wait-for';

/**
 * Starts a POST with `Expect: 100-continue` and resolves once the server has answered
 * 100 Continue, that is once the service has taken the request up. The body is sent only when
 * the test calls `finish()`: the request stays in flight, with no guess about when it got there.
 */
async function startInFlightPost(baseUrl: string, body: string) {
  const url = new URL('/api/v1/models', baseUrl);
  const req = http.request(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      Authorization: `Bearer ${TEST_ADMIN_KEY}`,
      Expect: '100-continue',
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    req.once('continue', resolve);
    response.catch(reject);
    req.flushHeaders();
  });
  return { finish: () => req.end(body), response, abort: () => req.destroy() };
}

/** Whether something accepts TCP connections on the service's port. */
function accepting(baseUrl: string): Promise<boolean> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
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
    // The drain only bounds how long the test may take to see readiness turn 503.
    service = await spawnService({ SHUTDOWN_DRAIN_MS: '3000', SHUTDOWN_GRACE_MS: '30000' });
    const inFlight = await startInFlightPost(
      service.baseUrl,
      JSON.stringify({ name: 'in-flight', description: 'x'.repeat(200) }),
    );
    service.child.kill('SIGTERM');
    const ready = await waitFor(
      async () => {
        const res = await fetch(`${service?.baseUrl}/health/ready`);
        return res.status === 503 ? res : undefined;
      },
      { what: 'readiness to answer 503 after SIGTERM' },
    );
    assert.equal(((await ready.json()) as { status: string }).status, 'shutting_down');
    // After the drain the server stops accepting connections; the request it took up still completes.
    await waitFor(async () => !(await accepting(service!.baseUrl)), { what: 'the server to stop accepting' });
    inFlight.finish();
    const result = await inFlight.response;
    assert.equal(result.status, 201, result.body);
    const { code } = await service.exited;
    assert.equal(code, 0, service.stderr());
    assert.match(service.stdout(), /shutdown complete/);
  });

  it('keeps serving new requests and connections during the drain while readiness says 503', async () => {
    // A drain far longer than the test: everything below happens inside it, however slow the machine.
    service = await spawnService({ SHUTDOWN_DRAIN_MS: '600000' });
    service.child.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${service?.baseUrl}/health/ready`)).status === 503, {
      what: 'readiness to answer 503 after SIGTERM',
    });
    // A load balancer that has not yet seen the 503 still sends traffic: it is served, on new connections too.
    const created = await fetch(`${service.baseUrl}/api/v1/models`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}`, 'Content-Type': 'application/json', Connection: 'close' },
      body: JSON.stringify({ name: 'during-drain' }),
    });
    assert.equal(created.status, 201, await created.text());
    const listed = await fetch(`${service.baseUrl}/api/v1/models`, {
      headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}` },
    });
    assert.equal(listed.status, 200);
    assert.equal((await fetch(`${service.baseUrl}/health/live`)).status, 200, 'liveness stays 200: no restart');
    assert.equal(service.child.exitCode, null);
  });

  it('exits within the grace period even when a request never finishes', async () => {
    service = await spawnService({ SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_GRACE_MS: '1000' });
    const stuck = await startInFlightPost(service.baseUrl, JSON.stringify({ name: 'stuck' }));
    stuck.response.catch(() => undefined);
    const signalledAt = performance.now();
    service.child.kill('SIGTERM');
    const { code } = await service.exited;
    const elapsed = performance.now() - signalledAt;
    // Exit code 1 is the forced exit: a clean close would have waited for the request forever.
    assert.equal(code, 1, service.stderr());
    assert.ok(elapsed >= 900, `exited after ${elapsed} ms, before SHUTDOWN_GRACE_MS`);
    stuck.abort();
  });

  it('logs one structured JSON line per request without bodies or credentials', async () => {
    service = await spawnService({});
    await fetch(`${service.baseUrl}/api/v1/models`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${TEST_ADMIN_KEY}`,
        'X-Request-Id': 'log-1',
      },
      body: JSON.stringify({ name: 'logged', description: 'secret-description-text' }),
    });
    // The line reaches us through a pipe, possibly after the response: wait for it.
    const line = await waitFor(
      () =>
        service
          ?.stdout()
          .split('\n')
          .slice(0, -1) // complete lines only
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.requestId === 'log-1'),
      { what: 'the request log line' },
    );
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/api/v1/models');
    assert.equal(line.status, 201);
    assert.equal(typeof line.durationMs, 'number');
    assert.ok(!service.stdout().includes(TEST_ADMIN_KEY));
    assert.ok(!service.stdout().includes('secret-description-text'));
  });
});

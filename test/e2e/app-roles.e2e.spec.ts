import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ModulesContainer } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bull';
import type express from 'express';
import { HealthController } from '../../src/health/health.controller';
import { InferenceProcessor } from '../../src/jobs/queue/inference.processor';
import { MetricsController } from '../../src/metrics/metrics.controller';
import { OipGrpcServer } from '../../src/oip/grpc/oip-grpc.server';
import { PredictionLogService } from '../../src/predictions/prediction-log.service';
import { dropQueue, REDIS_TEST_URL, redisPrefix, testQueue } from '../support/job-helpers';
import { bearer, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';

/** Every route the Express router knows, as `METHOD /path` (Nest's controllers and the body readers). */
function routesOf(app: NestExpressApplication): string[] {
  const server = app.getHttpAdapter().getInstance() as express.Express;
  const router = server.router as unknown as {
    stack: { route?: { path: string; methods: Record<string, boolean> } }[];
  };
  return router.stack.flatMap((layer) =>
    layer.route ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`) : [],
  );
}

/** The controller classes of every module the application was composed of. */
function controllersOf(app: NestExpressApplication): string[] {
  const modules = [...app.get(ModulesContainer).values()];
  return modules.flatMap((module) => [...module.controllers.values()].map((wrapper) => wrapper.name)).sort();
}

function has(app: NestExpressApplication, token: abstract new (...args: never[]) => unknown): boolean {
  try {
    app.get(token, { strict: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * APP_ROLE composes the root module: a worker is built without the API (no controller, no
 * prediction log and its flush timer, no OpenAPI document), an API process without the consumer.
 */
describe('process roles (APP_ROLE) compose the application', () => {
  const prefix = redisPrefix('roles');
  let queue: Queue;
  const apps: TestApp[] = [];

  async function start(role: 'all' | 'api' | 'worker'): Promise<TestApp> {
    const t = await startTestApp('sqlite', {
      listen: true,
      env: { APP_ROLE: role, REDIS_URL: REDIS_TEST_URL, JOBS_QUEUE_PREFIX: prefix, INFERENCE_WORKERS: '1' },
    });
    apps.push(t);
    return t;
  }

  async function get(t: TestApp, path: string, credential?: string): Promise<Response> {
    return fetch(`${t.baseUrl}${path}`, credential ? { headers: { Authorization: bearer(credential) } } : {});
  }

  before(() => {
    queue = testQueue(prefix);
  });
  after(async () => {
    for (const t of apps) await t.close();
    if (queue) await dropQueue(queue, prefix);
  });

  describe('APP_ROLE=worker', () => {
    let worker: TestApp;
    before(async () => {
      worker = await start('worker');
    });

    it('has no API controller and no /api/v1 route: only /health/* and /metrics', () => {
      assert.deepEqual(controllersOf(worker.app), [HealthController.name, MetricsController.name].sort());
      const routes = routesOf(worker.app);
      assert.deepEqual(routes.sort(), ['GET /health/live', 'GET /health/ready', 'GET /metrics']);
    });

    it('builds no prediction log (no flush timer), no gRPC server, and consumes jobs', () => {
      assert.equal(has(worker.app, PredictionLogService), false);
      assert.equal(has(worker.app, OipGrpcServer), false);
      assert.equal(has(worker.app, InferenceProcessor), true);
    });

    it('answers its probes and metrics; API paths and the docs are 404 naming the role', async () => {
      assert.equal((await get(worker, '/health/live')).status, 200);
      assert.equal((await get(worker, '/health/ready')).status, 200);
      const metrics = await get(worker, '/metrics', TEST_ADMIN_KEY);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /modelforge_jobs_running_here/);
      assert.equal((await get(worker, '/metrics')).status, 401, '/metrics still needs a credential');
      for (const path of ['/api/v1/models', '/api/v1/predictions', '/api/v1/jobs', '/api/v1/auth/me', '/docs-json']) {
        const res = await get(worker, path, TEST_ADMIN_KEY);
        assert.equal(res.status, 404, path);
        const body = (await res.json()) as { message: string; requestId: string };
        assert.match(body.message, /APP_ROLE=worker/, path);
        assert.ok(body.requestId, 'the error body is the usual one');
      }
    });
  });

  describe('APP_ROLE=api', () => {
    let api: TestApp;
    before(async () => {
      api = await start('api');
    });

    it('serves the API and its document but does not consume jobs', async () => {
      const routes = routesOf(api.app);
      for (const route of ['GET /api/v1/models', 'POST /api/v1/predictions', 'POST /api/v1/jobs', 'GET /metrics']) {
        assert.ok(routes.includes(route), route);
      }
      assert.equal(has(api.app, PredictionLogService), true);
      assert.equal(has(api.app, OipGrpcServer), true);
      assert.equal(has(api.app, InferenceProcessor), false);
      assert.equal((await get(api, '/api/v1/models', TEST_ADMIN_KEY)).status, 200);
      assert.equal((await get(api, '/docs-json')).status, 200);
      const missing = await get(api, '/api/v1/nothing', TEST_ADMIN_KEY);
      assert.equal(missing.status, 404);
      assert.doesNotMatch(((await missing.json()) as { message: string }).message, /APP_ROLE/);
    });
  });

  describe('APP_ROLE=all', () => {
    it('is both: the API and the consumer in one process', async () => {
      const all = await start('all');
      const worker = apps.find((t) => t.config.app.role === 'worker')!;
      const api = apps.find((t) => t.config.app.role === 'api')!;
      assert.deepEqual(controllersOf(all.app), controllersOf(api.app));
      assert.deepEqual(routesOf(all.app).sort(), routesOf(api.app).sort());
      assert.ok(controllersOf(all.app).length > controllersOf(worker.app).length);
      assert.equal(has(all.app, PredictionLogService), true);
      assert.equal(has(all.app, InferenceProcessor), true);
    });
  });
});

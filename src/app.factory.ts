import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type express from 'express';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { authenticateMiddleware, requireCredential } from './auth/authenticate.middleware';
import { CredentialsService } from './auth/credentials.service';
import { RateLimits } from './auth/rate-limits';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { BodyBudget, bodyReader } from './common/body-reader';
import { installProtocolErrorBodies, requireHost } from './common/protocol-errors';
import { contentTypeMiddleware } from './common/content-type.middleware';
import { REQUEST_ID_HEADER } from './common/request-id';
import { securityHeaders } from './common/security-headers';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { DASHBOARD_BASE, dashboardHandler } from './dashboard/dashboard-static';
import { httpLogger } from './logging/http-logger';
import { PinoNestLogger } from './logging/logger';
import { MetricsService } from './metrics/metrics.service';
import { readsInferBody } from './oip/oip.controller';
import { setupOpenApi } from './openapi';
import { wantsRawCacheKey } from './predictions/prediction-context';

/** Response headers a browser script on an allowed origin may read. */
export const EXPOSED_HEADERS = [
  REQUEST_ID_HEADER,
  'X-Cache',
  'X-Model-Version',
  'Retry-After',
  'Location',
  'Server-Timing',
  'Inference-Header-Content-Length',
  'WWW-Authenticate',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'RateLimit-Policy',
];
/** Seconds a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;
/** The 404 message of a worker (APP_ROLE=worker), so a worker put behind a load balancer by mistake says so. */
const WORKER_NOT_FOUND = 'This process runs with APP_ROLE=worker: it serves only /health/* and /metrics';

/** Builds the HTTP application: the same wiring for main.ts, the e2e tests and the benchmark. */
export async function createApp(config: AppConfig, logger: Logger): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  app.disable('x-powered-by');
  // req.ip (login throttling per address, logs) from X-Forwarded-For only through trusted proxies.
  app.set('trust proxy', config.http.trustProxy);
  installProtocolErrorBodies(app.getHttpServer());
  app.use(securityHeaders());
  app.use(httpLogger(logger));
  app.use(requireHost);
  // CORS (an allowlist; CORS_ORIGINS refuses `*`) before anything that can refuse a request: a
  // preflight carries no credential and is answered here, and a 401/413/415 from the middlewares
  // below still carries Access-Control-Allow-Origin, so a browser script can read it.
  const origins = config.http.corsOrigins;
  if (origins) {
    app.enableCors({
      origin: [...origins],
      credentials: true,
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    });
  }
  // The dashboard's static files (web/out) at /ui: public, no body, no credential needed to load.
  if (config.app.servesApi) app.use(DASHBOARD_BASE, dashboardHandler());
  app.use(contentTypeMiddleware);
  // The credential is resolved before any body is read; routes that take a large body refuse
  // a request without one before reading it.
  const authEnabled = config.auth.enabled;
  app.use(authenticateMiddleware(app.get(CredentialsService), authEnabled));
  // The API's budget is shared with the gRPC transport (BodyBudgetModule); a worker reads no body.
  const budget = config.app.servesApi ? app.get(BodyBudget) : new BodyBudget(config.http.maxInflightBodyBytes);
  if (config.app.servesApi) mountBodyReaders(app, config, requireCredential(authEnabled, app.get(RateLimits)), budget);
  app
    .get(MetricsService)
    .registerGauges(() => [
      { name: 'http_inflight_body_bytes', help: 'Request body bytes held in memory now', value: budget.inUse },
    ]);
  // A worker has only /health/* and /metrics; any other path says why it is not there.
  app.useGlobalFilters(new AllExceptionsFilter(config.app.servesApi ? {} : { routeNotFound: WORKER_NOT_FOUND }));
  app.useGlobalPipes(createValidationPipe());
  if (config.app.servesApi && config.http.docsEnabled) setupOpenApi(app);
  return app;
}

/** Each API route family that takes a JSON body gets its own reader and limit; no other route reads one. */
function mountBodyReaders(
  app: NestExpressApplication,
  config: AppConfig,
  authenticated: express.RequestHandler,
  budget: BodyBudget,
): void {
  const registry = { limit: config.http.maxRegistryBodyBytes, limitName: 'MAX_REGISTRY_BODY_BYTES', budget };
  const large = { limit: config.http.maxJsonBodyBytes, limitName: 'MAX_JSON_BODY_BYTES', budget };
  const server = app.getHttpAdapter().getInstance() as express.Express;
  // Prediction and job bodies stay raw bytes on the HTTP thread; an inference worker parses them.
  server.post('/api/v1/predictions', authenticated, bodyReader({ ...large, mode: 'raw', sha256: wantsRawCacheKey }));
  const jobBody =
    config.jobs.maxSubmissionBytes < config.http.maxJsonBodyBytes
      ? { limit: config.jobs.maxSubmissionBytes, limitName: 'JOBS_MAX_SUBMISSION_BYTES' }
      : large;
  server.post('/api/v1/jobs', authenticated, bodyReader({ ...jobBody, budget, mode: 'raw' }));
  // Open Inference Protocol bodies: JSON with any or no Content-Type, or JSON then binary tensors,
  // possibly gzipped (Triton's clients compress on request).
  const oipBody = bodyReader({ ...large, mode: 'raw', reads: readsInferBody, inflate: true });
  server.post('/v2/models/:name/infer', authenticated, oipBody);
  server.post('/v2/models/:name/versions/:version/infer', authenticated, oipBody);
  server.post('/api/v1/models', authenticated, bodyReader({ ...registry, mode: 'json' }));
  server.patch('/api/v1/models/:name', authenticated, bodyReader({ ...registry, mode: 'json' }));
  server.put('/api/v1/models/:name/aliases/:alias', authenticated, bodyReader({ ...registry, mode: 'json' }));
  server.put('/api/v1/models/:name/traffic', authenticated, bodyReader({ ...registry, mode: 'json' }));
  server.patch('/api/v1/models/:name/versions/:version', authenticated, bodyReader({ ...registry, mode: 'json' }));
  server.post('/api/v1/auth/keys', authenticated, bodyReader({ ...registry, mode: 'json' }));
  server.post('/api/v1/auth/users', authenticated, bodyReader({ ...registry, mode: 'json' }));
  server.patch('/api/v1/auth/users/:username', authenticated, bodyReader({ ...registry, mode: 'json' }));
  // Login is public: the body (username and password) is the credential.
  server.post('/api/v1/auth/login', bodyReader({ ...registry, mode: 'json' }));
}

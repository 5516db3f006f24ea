import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { contentTypeMiddleware } from './common/content-type.middleware';
import { REQUEST_ID_HEADER, requestIdMiddleware } from './common/request-id';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { httpLogMiddleware } from './logging/http-log.middleware';
import { PinoNestLogger } from './logging/logger';
import { setupOpenApi } from './openapi';

const EXPOSED_HEADERS = [REQUEST_ID_HEADER, 'X-Cache', 'X-Model-Version', 'Retry-After', 'Location', 'Server-Timing'];

/** Builds the HTTP application: the same wiring for main.ts, the e2e tests and the benchmark. */
export async function createApp(config: AppConfig, logger: Logger): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  app.disable('x-powered-by');
  app.use(requestIdMiddleware);
  app.use(httpLogMiddleware(logger));
  app.use(contentTypeMiddleware);
  const jsonTypes = ['application/json', 'application/*+json'];
  // Prediction bodies stay raw bytes on the HTTP thread; an inference worker parses them.
  app.use('/api/v1/predictions', express.raw({ limit: config.maxJsonBodyBytes, type: jsonTypes }));
  app.use('/api/v1/jobs', express.raw({ limit: config.maxJsonBodyBytes, type: jsonTypes }));
  app.use(express.json({ limit: config.maxJsonBodyBytes, type: jsonTypes }));
  const origins = config.corsOrigins;
  if (origins) app.enableCors({ origin: origins === '*' ? true : origins, exposedHeaders: EXPOSED_HEADERS });
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(createValidationPipe());
  if (config.docsEnabled) setupOpenApi(app);
  return app;
}

import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { createApp } from './app.factory';
import { AppConfig, loadConfig } from './config/app-config';
import { EnvironmentError } from './config/environment';
import { scrubSecrets, secretsOf } from './config/secrets';
import { ShutdownState } from './health/shutdown-state';
import { createRootLogger } from './logging/logger';

/** Configuration problems end the process with one `config error:` line each and exit code 2. */
function exitOnEnvironmentError(error: unknown): void {
  if (error instanceof EnvironmentError) {
    for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
    process.exit(2);
  }
}

/** The one validation of the environment: everything else is handed this configuration. */
function readConfig(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    exitOnEnvironmentError(error);
    throw error;
  }
}

/**
 * SIGTERM/SIGINT: readiness turns 503 at once, new traffic drains for SHUTDOWN_DRAIN_MS, the
 * server stops accepting and in-flight requests finish; past SHUTDOWN_GRACE_MS the process exits anyway.
 */
function installShutdown(app: INestApplication, config: AppConfig, logger: Logger): void {
  let started = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (started) return;
    started = true;
    app.get(ShutdownState).begin();
    logger.info({ signal, drainMs: config.shutdown.drainMs, graceMs: config.shutdown.graceMs }, 'shutdown started');
    const force = setTimeout(() => {
      logger.error('shutdown grace period elapsed; exiting with requests still open');
      process.exit(1);
    }, config.shutdown.graceMs + config.shutdown.drainMs);
    force.unref();
    await new Promise((resolve) => setTimeout(resolve, config.shutdown.drainMs));
    await app.close();
    logger.info('shutdown complete');
    logger.flush();
    process.exit(0);
  };
  // A signal handler has no caller: a failure while closing is logged and still ends the process.
  const onSignal = (signal: string): void => {
    shutdown(signal).catch((error: unknown) => {
      logger.error({ err: scrubSecrets(String(error), secretsOf(process.env)) }, 'shutdown failed');
      logger.flush();
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createRootLogger(config);
  // The root module is composed for APP_ROLE: a worker has only its probes and the job consumer.
  const app = await createApp(config, logger);
  installShutdown(app, config, logger);
  await app.listen(config.http.port, config.http.host);
  logger.info(
    {
      port: config.http.port,
      role: config.app.role,
      database: config.database.url ? 'postgres' : 'sqlite',
      dataDir: config.storage.dataDir,
    },
    'ModelForge listening',
  );
}

main().catch((error: unknown) => {
  // Some configuration can only be judged against stored state (JWT_SECRET once users exist).
  exitOnEnvironmentError(error);
  const text = (error as Error).stack ?? String(error);
  process.stderr.write(`ModelForge failed to start: ${scrubSecrets(text, secretsOf(process.env))}\n`);
  process.exit(1);
});

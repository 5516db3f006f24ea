import * as os from 'node:os';
import * as path from 'node:path';
import { Environment, LogLevel } from './environment';
import { secretsOf } from './secrets';
import { parseTrustProxy, TrustProxy } from './trust-proxy';

export interface AuthConfig {
  enabled: boolean;
  adminApiKey?: string;
  jwtSecret?: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  issuer: string;
  audience: string;
  cookieSecure: boolean;
  metricsToken?: string;
  loginMaxFailures: number;
  loginLockoutSeconds: number;
  /** Default per role; 0 = unlimited. */
  rateLimitPerMinute: Record<'admin' | 'maintainer' | 'predictor' | 'viewer', number>;
  /** How long a Redis rate-limit decision may take before this replica decides alone. */
  rateLimitTimeoutMs: number;
}

/** Typed, read-only view of the validated environment. Inject this; never read process.env. */
export class AppConfig {
  constructor(private readonly env: Environment) {}

  get nodeEnv(): Environment['NODE_ENV'] {
    return this.env.NODE_ENV;
  }
  get port(): number {
    return this.env.PORT;
  }
  get host(): string {
    return this.env.HOST;
  }
  get databaseUrl(): string | undefined {
    return this.env.DATABASE_URL;
  }
  get databasePoolSize(): number {
    return this.env.DATABASE_POOL_SIZE;
  }
  get runMigrations(): boolean {
    return this.env.DATABASE_MIGRATIONS_RUN;
  }
  /** Passwords held in the configuration, which the logger scrubs from every line. */
  get secrets(): string[] {
    return secretsOf({
      DATABASE_URL: this.env.DATABASE_URL,
      REDIS_URL: this.env.REDIS_URL,
      ADMIN_API_KEY: this.env.ADMIN_API_KEY,
      JWT_SECRET: this.env.JWT_SECRET,
      METRICS_TOKEN: this.env.METRICS_TOKEN,
    });
  }
  get redisUrl(): string | undefined {
    return this.env.REDIS_URL;
  }
  get dataDir(): string {
    return path.resolve(this.env.DATA_DIR);
  }
  get sqlitePath(): string {
    return path.join(this.dataDir, 'modelforge.sqlite');
  }
  get logLevel(): LogLevel {
    return this.env.LOG_LEVEL;
  }
  get logFormat(): 'json' | 'pretty' {
    return this.env.LOG_FORMAT ?? (this.env.NODE_ENV === 'development' ? 'pretty' : 'json');
  }
  get maxModelBytes(): number {
    return this.env.MAX_MODEL_BYTES;
  }
  get maxJsonBodyBytes(): number {
    return this.env.MAX_JSON_BODY_BYTES;
  }
  get maxRegistryBodyBytes(): number {
    return this.env.MAX_REGISTRY_BODY_BYTES;
  }
  get maxInflightBodyBytes(): number {
    return this.env.MAX_INFLIGHT_BODY_BYTES;
  }
  get minFreeDiskBytes(): number {
    return this.env.MIN_FREE_DISK_BYTES;
  }
  get maxConcurrentUploads(): number {
    return this.env.MAX_CONCURRENT_UPLOADS;
  }
  /** Express's `trust proxy` (TRUST_PROXY): which proxies' X-Forwarded-For gives req.ip. */
  get trustProxy(): TrustProxy {
    return parseTrustProxy(this.env.TRUST_PROXY);
  }
  get corsOrigins(): string[] | undefined {
    const raw = this.env.CORS_ORIGINS.trim();
    if (raw === '') return undefined;
    return raw.split(',').map((o) => o.trim());
  }
  get shutdownDrainMs(): number {
    return this.env.SHUTDOWN_DRAIN_MS;
  }
  get shutdownGraceMs(): number {
    return this.env.SHUTDOWN_GRACE_MS;
  }
  get auth(): AuthConfig {
    const env = this.env;
    return {
      enabled: env.AUTH_ENABLED,
      adminApiKey: env.ADMIN_API_KEY,
      jwtSecret: env.JWT_SECRET,
      accessTtlSeconds: env.JWT_ACCESS_TTL_SECONDS,
      refreshTtlSeconds: env.JWT_REFRESH_TTL_SECONDS,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      cookieSecure: env.AUTH_COOKIE_SECURE ?? env.NODE_ENV === 'production',
      metricsToken: env.METRICS_TOKEN,
      loginMaxFailures: env.LOGIN_MAX_FAILURES,
      loginLockoutSeconds: env.LOGIN_LOCKOUT_SECONDS,
      rateLimitPerMinute: {
        admin: env.RATE_LIMIT_ADMIN_PER_MINUTE,
        maintainer: env.RATE_LIMIT_MAINTAINER_PER_MINUTE,
        predictor: env.RATE_LIMIT_PREDICTOR_PER_MINUTE,
        viewer: env.RATE_LIMIT_VIEWER_PER_MINUTE,
      },
      rateLimitTimeoutMs: env.RATE_LIMIT_TIMEOUT_MS,
    };
  }
  get docsEnabled(): boolean {
    return this.env.DOCS_ENABLED;
  }
  get inferenceWorkers(): number {
    return this.env.INFERENCE_WORKERS || Math.max(1, Math.min(4, os.availableParallelism()));
  }
  get intraOpThreads(): number {
    return (
      this.env.INFERENCE_INTRA_OP_THREADS || Math.max(1, Math.floor(os.availableParallelism() / this.inferenceWorkers))
    );
  }
  get inferenceSpinning(): boolean {
    return this.env.INFERENCE_SPINNING;
  }
  get inferenceTimeoutMs(): number {
    return this.env.INFERENCE_TIMEOUT_MS;
  }
  get inferenceProcessMaxRssBytes(): number {
    return this.env.INFERENCE_PROCESS_MAX_RSS_BYTES;
  }
  get inferenceMaxQueue(): number {
    return this.env.INFERENCE_MAX_QUEUE;
  }
  get maxLoadedVersions(): number {
    return this.env.INFERENCE_MAX_LOADED_VERSIONS;
  }
  get inferenceMemoryBudgetBytes(): number {
    return this.env.INFERENCE_MEMORY_BUDGET_BYTES;
  }
  get inferenceLoad(): 'eager' | 'lazy' {
    return this.env.INFERENCE_LOAD;
  }
  get maxTensorElements(): number {
    return this.env.MAX_TENSOR_ELEMENTS;
  }
  get maxOutputElements(): number {
    return this.env.MAX_OUTPUT_ELEMENTS;
  }
  get warmupMaxElements(): number {
    return this.env.WARMUP_MAX_ELEMENTS;
  }
  get appRole(): 'all' | 'api' | 'worker' {
    return this.env.APP_ROLE;
  }
  /** This process serves the HTTP API (and produces jobs). */
  get servesApi(): boolean {
    return this.env.APP_ROLE !== 'worker';
  }
  /** This process consumes jobs. */
  get runsJobs(): boolean {
    return this.env.APP_ROLE !== 'api';
  }
  get cacheDefaults(): { enabled: boolean; ttlSeconds: number } {
    return { enabled: this.env.CACHE_DEFAULT_ENABLED, ttlSeconds: this.env.CACHE_DEFAULT_TTL_SECONDS };
  }
  get cacheMaxEntryBytes(): number {
    return this.env.CACHE_MAX_ENTRY_BYTES;
  }
  get cacheMemoryMaxBytes(): number {
    return this.env.CACHE_MEMORY_MAX_BYTES;
  }
  get cacheTimeoutMs(): number {
    return this.env.CACHE_TIMEOUT_MS;
  }
  get predictionLog(): {
    sampleRate: number;
    retentionDays: number;
    flushMs: number;
    batchSize: number;
    maxBuffer: number;
  } {
    return {
      sampleRate: this.env.PREDICTION_LOG_SAMPLE_RATE,
      retentionDays: this.env.PREDICTION_LOG_RETENTION_DAYS,
      flushMs: this.env.PREDICTION_LOG_FLUSH_MS,
      batchSize: this.env.PREDICTION_LOG_BATCH_SIZE,
      maxBuffer: this.env.PREDICTION_LOG_MAX_BUFFER,
    };
  }
  get jobs(): {
    maxInstances: number;
    maxSubmissionBytes: number;
    maxDecodedBytes: number;
    maxInstanceElements: number;
    chunkSize: number;
    concurrency: number;
    attempts: number;
    backoffMs: number;
    timeoutMs: number;
    lockMs: number;
  } {
    return {
      maxInstances: this.env.JOBS_MAX_INSTANCES,
      maxSubmissionBytes: this.env.JOBS_MAX_SUBMISSION_BYTES,
      maxDecodedBytes: this.env.JOBS_MAX_DECODED_BYTES,
      maxInstanceElements: this.env.JOBS_MAX_INSTANCE_ELEMENTS,
      chunkSize: this.env.JOBS_CHUNK_SIZE,
      concurrency: this.env.JOBS_CONCURRENCY,
      attempts: this.env.JOBS_ATTEMPTS,
      backoffMs: this.env.JOBS_BACKOFF_MS,
      timeoutMs: this.env.JOBS_TIMEOUT_MS,
      lockMs: this.env.JOBS_LOCK_MS,
    };
  }
  get queueDashboardEnabled(): boolean {
    return this.env.QUEUE_DASHBOARD_ENABLED;
  }
  get jobsQueuePrefix(): string {
    return this.env.JOBS_QUEUE_PREFIX;
  }
}

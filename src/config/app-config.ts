import * as os from 'node:os';
import * as path from 'node:path';
import { AppRole, ArtifactStoreKind, Environment, loadEnvironment, LogLevel } from './environment';
import { secretsOf } from './secrets';
import { parseTrustProxy, TrustProxy } from './trust-proxy';

/** What this process is and does (APP_ROLE). */
export interface AppSettings {
  readonly nodeEnv: Environment['NODE_ENV'];
  readonly role: AppRole;
  /** This process serves the HTTP API (and produces jobs). */
  readonly servesApi: boolean;
  /** This process consumes jobs. */
  readonly runsJobs: boolean;
}

export interface HttpConfig {
  readonly port: number;
  readonly host: string;
  /** Express's `trust proxy` (TRUST_PROXY): which proxies' X-Forwarded-For gives req.ip. */
  readonly trustProxy: TrustProxy;
  /** The CORS allowlist; undefined when no browser origin is allowed. */
  readonly corsOrigins?: readonly string[];
  readonly docsEnabled: boolean;
  readonly maxJsonBodyBytes: number;
  readonly maxRegistryBodyBytes: number;
  readonly maxInflightBodyBytes: number;
}

/** The Open Inference Protocol over gRPC (src/oip/grpc). */
export interface GrpcConfig {
  /** GRPC_PORT; 0 = no gRPC server. */
  readonly port: number;
  /** HOST, as for HTTP. */
  readonly host: string;
  /** Largest request message: MAX_JSON_BODY_BYTES, the limit of a REST prediction body. */
  readonly maxReceiveMessageBytes: number;
}

export interface ShutdownConfig {
  readonly drainMs: number;
  readonly graceMs: number;
}

export interface LogConfig {
  readonly level: LogLevel;
  readonly format: 'json' | 'pretty';
}

export interface DatabaseConfig {
  /** PostgreSQL; undefined for the embedded SQLite file at `sqlitePath`. */
  readonly url?: string;
  readonly poolSize: number;
  readonly runMigrations: boolean;
  readonly sqlitePath: string;
}

export interface RedisConfig {
  /** Undefined: in-memory stores, one process only. */
  readonly url?: string;
  /** JOBS_QUEUE_PREFIX: prefix of the keys of Bull, auth events, rate limits and login throttling. */
  readonly keyPrefix: string;
}

export interface StorageConfig {
  /** DATA_DIR, resolved to an absolute path. */
  readonly dataDir: string;
  readonly minFreeDiskBytes: number;
  /** ARTIFACT_STORE: which ArtifactStore storage.module.ts binds. */
  readonly artifactStore: ArtifactStoreKind;
  /** The bucket of the s3 store; undefined with the local store. */
  readonly s3?: S3Config;
  /** ARTIFACT_CACHE_MAX_BYTES: bytes of downloaded files the s3 store keeps in DATA_DIR/artifact-cache. */
  readonly cacheMaxBytes: number;
}

/** The s3 store's bucket. Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID, ...). */
export interface S3Config {
  /** Undefined: AWS S3 of the region. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Empty or ending in "/"; prepended to every object key. */
  readonly prefix: string;
  readonly forcePathStyle: boolean;
}

export interface ModelsConfig {
  readonly maxModelBytes: number;
  readonly maxConcurrentUploads: number;
}

export interface InferenceConfig {
  /** Inference processes (INFERENCE_WORKERS, 0 resolved to one per core, at most 4). */
  readonly workers: number;
  /** Intra-op threads per process (INFERENCE_INTRA_OP_THREADS, 0 resolved to cores / workers). */
  readonly intraOpThreads: number;
  readonly spinning: boolean;
  readonly timeoutMs: number;
  readonly processMaxRssBytes: number;
  readonly maxQueue: number;
  /** SHADOW_MAX_IN_FLIGHT: shadow runs of one shadow version waiting or running; more are dropped. */
  readonly shadowMaxInFlight: number;
  readonly maxLoadedVersions: number;
  readonly memoryBudgetBytes: number;
  readonly load: 'eager' | 'lazy';
  readonly maxTensorElements: number;
  readonly maxOutputElements: number;
  readonly warmupMaxElements: number;
}

export interface CacheConfig {
  /** For models that do not set their own. */
  readonly defaults: { readonly enabled: boolean; readonly ttlSeconds: number };
  readonly maxEntryBytes: number;
  readonly memoryMaxBytes: number;
  readonly timeoutMs: number;
}

export interface PredictionLogConfig {
  readonly sampleRate: number;
  readonly retentionDays: number;
  readonly flushMs: number;
  readonly batchSize: number;
  readonly maxBuffer: number;
}

export interface JobsConfig {
  readonly maxInstances: number;
  readonly maxSubmissionBytes: number;
  readonly maxDecodedBytes: number;
  readonly maxInstanceElements: number;
  readonly chunkSize: number;
  readonly concurrency: number;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly timeoutMs: number;
  readonly lockMs: number;
  readonly dashboardEnabled: boolean;
}

export interface AuthConfig {
  readonly enabled: boolean;
  readonly adminApiKey?: string;
  readonly jwtSecret?: string;
  readonly accessTtlSeconds: number;
  readonly refreshTtlSeconds: number;
  readonly issuer: string;
  readonly audience: string;
  readonly cookieSecure: boolean;
  readonly metricsToken?: string;
  readonly loginMaxFailures: number;
  readonly loginLockoutSeconds: number;
  /** Default per role; 0 = unlimited. */
  readonly rateLimitPerMinute: Readonly<Record<'admin' | 'maintainer' | 'predictor' | 'viewer', number>>;
  /** How long a Redis rate-limit decision may take before this replica decides alone. */
  readonly rateLimitTimeoutMs: number;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * The configuration, grouped by feature and frozen: built once from the validated environment
 * (`loadConfig`) and injected everywhere as this class. Nothing else reads process.env.
 */
export class AppConfig {
  readonly app: AppSettings;
  readonly http: HttpConfig;
  readonly grpc: GrpcConfig;
  readonly shutdown: ShutdownConfig;
  readonly log: LogConfig;
  readonly database: DatabaseConfig;
  readonly redis: RedisConfig;
  readonly storage: StorageConfig;
  readonly models: ModelsConfig;
  readonly inference: InferenceConfig;
  readonly cache: CacheConfig;
  readonly predictionLog: PredictionLogConfig;
  readonly jobs: JobsConfig;
  readonly auth: AuthConfig;
  /** Passwords held in the configuration, which the logger scrubs from every line. */
  readonly secrets: readonly string[];

  constructor(env: Environment) {
    this.app = {
      nodeEnv: env.NODE_ENV,
      role: env.APP_ROLE,
      servesApi: env.APP_ROLE !== 'worker',
      runsJobs: env.APP_ROLE !== 'api',
    };
    const cors = env.CORS_ORIGINS.trim();
    this.http = {
      port: env.PORT,
      host: env.HOST,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      corsOrigins: cors === '' ? undefined : cors.split(',').map((origin) => origin.trim()),
      docsEnabled: env.DOCS_ENABLED,
      maxJsonBodyBytes: env.MAX_JSON_BODY_BYTES,
      maxRegistryBodyBytes: env.MAX_REGISTRY_BODY_BYTES,
      maxInflightBodyBytes: env.MAX_INFLIGHT_BODY_BYTES,
    };
    this.grpc = { port: env.GRPC_PORT, host: env.HOST, maxReceiveMessageBytes: env.MAX_JSON_BODY_BYTES };
    this.shutdown = { drainMs: env.SHUTDOWN_DRAIN_MS, graceMs: env.SHUTDOWN_GRACE_MS };
    this.log = {
      level: env.LOG_LEVEL,
      format: env.LOG_FORMAT ?? (env.NODE_ENV === 'development' ? 'pretty' : 'json'),
    };
    const dataDir = path.resolve(env.DATA_DIR);
    this.database = {
      url: env.DATABASE_URL,
      poolSize: env.DATABASE_POOL_SIZE,
      runMigrations: env.DATABASE_MIGRATIONS_RUN,
      sqlitePath: path.join(dataDir, 'modelforge.sqlite'),
    };
    this.redis = { url: env.REDIS_URL, keyPrefix: env.JOBS_QUEUE_PREFIX };
    this.storage = {
      dataDir,
      minFreeDiskBytes: env.MIN_FREE_DISK_BYTES,
      artifactStore: env.ARTIFACT_STORE,
      cacheMaxBytes: env.ARTIFACT_CACHE_MAX_BYTES,
      s3:
        env.ARTIFACT_STORE === 's3'
          ? {
              endpoint: env.S3_ENDPOINT,
              region: env.S3_REGION ?? '',
              bucket: env.S3_BUCKET ?? '',
              prefix: env.S3_PREFIX,
              forcePathStyle: env.S3_FORCE_PATH_STYLE,
            }
          : undefined,
    };
    this.models = { maxModelBytes: env.MAX_MODEL_BYTES, maxConcurrentUploads: env.MAX_CONCURRENT_UPLOADS };
    const cores = os.availableParallelism();
    const workers = env.INFERENCE_WORKERS || Math.max(1, Math.min(4, cores));
    this.inference = {
      workers,
      intraOpThreads: env.INFERENCE_INTRA_OP_THREADS || Math.max(1, Math.floor(cores / workers)),
      spinning: env.INFERENCE_SPINNING,
      timeoutMs: env.INFERENCE_TIMEOUT_MS,
      processMaxRssBytes: env.INFERENCE_PROCESS_MAX_RSS_BYTES,
      maxQueue: env.INFERENCE_MAX_QUEUE,
      shadowMaxInFlight: env.SHADOW_MAX_IN_FLIGHT,
      maxLoadedVersions: env.INFERENCE_MAX_LOADED_VERSIONS,
      memoryBudgetBytes: env.INFERENCE_MEMORY_BUDGET_BYTES,
      load: env.INFERENCE_LOAD,
      maxTensorElements: env.MAX_TENSOR_ELEMENTS,
      maxOutputElements: env.MAX_OUTPUT_ELEMENTS,
      warmupMaxElements: env.WARMUP_MAX_ELEMENTS,
    };
    this.cache = {
      defaults: { enabled: env.CACHE_DEFAULT_ENABLED, ttlSeconds: env.CACHE_DEFAULT_TTL_SECONDS },
      maxEntryBytes: env.CACHE_MAX_ENTRY_BYTES,
      memoryMaxBytes: env.CACHE_MEMORY_MAX_BYTES,
      timeoutMs: env.CACHE_TIMEOUT_MS,
    };
    this.predictionLog = {
      sampleRate: env.PREDICTION_LOG_SAMPLE_RATE,
      retentionDays: env.PREDICTION_LOG_RETENTION_DAYS,
      flushMs: env.PREDICTION_LOG_FLUSH_MS,
      batchSize: env.PREDICTION_LOG_BATCH_SIZE,
      maxBuffer: env.PREDICTION_LOG_MAX_BUFFER,
    };
    this.jobs = {
      maxInstances: env.JOBS_MAX_INSTANCES,
      maxSubmissionBytes: env.JOBS_MAX_SUBMISSION_BYTES,
      maxDecodedBytes: env.JOBS_MAX_DECODED_BYTES,
      maxInstanceElements: env.JOBS_MAX_INSTANCE_ELEMENTS,
      chunkSize: env.JOBS_CHUNK_SIZE,
      concurrency: env.JOBS_CONCURRENCY,
      attempts: env.JOBS_ATTEMPTS,
      backoffMs: env.JOBS_BACKOFF_MS,
      timeoutMs: env.JOBS_TIMEOUT_MS,
      lockMs: env.JOBS_LOCK_MS,
      dashboardEnabled: env.QUEUE_DASHBOARD_ENABLED,
    };
    this.auth = {
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
    this.secrets = secretsOf({
      DATABASE_URL: env.DATABASE_URL,
      REDIS_URL: env.REDIS_URL,
      ADMIN_API_KEY: env.ADMIN_API_KEY,
      JWT_SECRET: env.JWT_SECRET,
      METRICS_TOKEN: env.METRICS_TOKEN,
    });
    deepFreeze(this);
  }
}

/** Validates the environment (one line per bad variable, see EnvironmentError) and builds the configuration. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  return new AppConfig(loadEnvironment(source));
}

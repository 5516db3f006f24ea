import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  ValidationError,
} from 'class-validator';
import { redactUrl, TOKEN_SECRET_VARIABLES, URL_SECRET_VARIABLES } from './secrets';
import { IsTrustProxy } from './trust-proxy';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const toFloat = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : value;

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Every environment variable the service reads, with its default. `.env.example` documents the
 * same list; `loadEnvironment` validates it once at boot.
 */
export class Environment {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, {
    message: 'must be a postgres:// or postgresql:// URL (leave unset for embedded SQLite)',
  })
  DATABASE_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  DATABASE_MIGRATIONS_RUN = true;

  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL (leave unset for in-memory)' })
  REDIS_URL?: string;

  @IsString()
  @Matches(/\S/, { message: 'must not be empty' })
  DATA_DIR = './data';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  @IsOptional()
  @IsIn(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty';

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  MAX_MODEL_BYTES = 512 * 1024 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;

  /** Largest JSON body of a registry route (create or change a model); 413 above. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  MAX_REGISTRY_BODY_BYTES = 1024 * 1024;

  /** Request body bytes held in memory by all requests at once; past it, 503 with Retry-After. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  MAX_INFLIGHT_BODY_BYTES = 128 * 1024 * 1024;

  /** Uploads and job submissions are refused (507) when the data folder has less free space than this. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  MIN_FREE_DISK_BYTES = 256 * 1024 * 1024;

  /** Model uploads handled at once by this process; past it, 429 with Retry-After. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_CONCURRENT_UPLOADS = 4;

  /** Browser origins allowed to call the API (an allowlist; `*` is refused, credentials are involved). */
  @IsString()
  @Matches(/^((https?:\/\/[^,\s*]+)(,\s*https?:\/\/[^,\s*]+)*)?$/, {
    message: 'must be empty or a comma-separated list of http(s) origins (no wildcard)',
  })
  CORS_ORIGINS = '';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_DRAIN_MS = 0;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_GRACE_MS = 15_000;

  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  DOCS_ENABLED = true;

  /** Worker threads that own ONNX Runtime sessions (0 = one per core, at most 4). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(64)
  INFERENCE_WORKERS = 0;

  /** ONNX Runtime intra-op threads per worker (0 = cores / workers, at least 1). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(64)
  INFERENCE_INTRA_OP_THREADS = 0;

  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  INFERENCE_SPINNING = false;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  INFERENCE_TIMEOUT_MS = 30_000;

  /** Resident memory an inference process may reach; past it, it is killed and replaced. 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  INFERENCE_PROCESS_MAX_RSS_BYTES = 4 * 1024 ** 3;

  /** Requests per model version waiting or running at once; past it, 429. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  INFERENCE_MAX_QUEUE = 64;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  INFERENCE_MAX_LOADED_VERSIONS = 16;

  /** Sum of model file sizes kept loaded (0 = no limit besides INFERENCE_MAX_LOADED_VERSIONS). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  INFERENCE_MEMORY_BUDGET_BYTES = 0;

  @IsIn(['eager', 'lazy'])
  INFERENCE_LOAD: 'eager' | 'lazy' = 'eager';

  /** Largest number of elements across all input tensors of one request. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  MAX_TENSOR_ELEMENTS = 16_000_000;

  /** Largest number of elements across the outputs a request asks for; past it, 422 naming the output. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  MAX_OUTPUT_ELEMENTS = 8_000_000;

  /** Elements across all synthetic inputs of one upload warm-up run. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  WARMUP_MAX_ELEMENTS = 1_000_000;

  /** What this process runs: the HTTP API, the job worker, or both. */
  @IsIn(['all', 'api', 'worker'])
  APP_ROLE: 'all' | 'api' | 'worker' = 'all';

  // --- prediction cache -------------------------------------------------------------------
  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  CACHE_DEFAULT_ENABLED = true;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(30 * 24 * 3600)
  CACHE_DEFAULT_TTL_SECONDS = 300;

  /** Responses larger than this are not cached. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  CACHE_MAX_ENTRY_BYTES = 1024 * 1024;

  /** Size bound of the in-memory LRU used without REDIS_URL. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  CACHE_MEMORY_MAX_BYTES = 64 * 1024 * 1024;

  /** A cache operation slower than this counts as a miss (Redis outage, network trouble). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  CACHE_TIMEOUT_MS = 100;

  // --- prediction log ---------------------------------------------------------------------
  /** Share of predictions written to the log: 0 to 1. */
  @Transform(toFloat)
  @IsNumber({}, { message: 'must be a number from 0 to 1' })
  @Min(0)
  @Max(1)
  PREDICTION_LOG_SAMPLE_RATE = 1;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  PREDICTION_LOG_RETENTION_DAYS = 30;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(600_000)
  PREDICTION_LOG_FLUSH_MS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  PREDICTION_LOG_BATCH_SIZE = 500;

  /** Rows held in memory waiting for the database; past it, rows are dropped and counted. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PREDICTION_LOG_MAX_BUFFER = 50_000;

  // --- queued jobs --------------------------------------------------------------------------
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  JOBS_MAX_INSTANCES = 10_000;

  /** Bytes of one job submission as sent (JSON or NDJSON); past it, 413 and nothing is stored. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  JOBS_MAX_SUBMISSION_BYTES = 512 * 1024 * 1024;

  /** Bytes of one job's decoded tensors (what is stored); past it, 413 and nothing is stored. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  JOBS_MAX_DECODED_BYTES = 1024 * 1024 * 1024;

  /** Elements across the inputs of one job instance. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  JOBS_MAX_INSTANCE_ELEMENTS = 4_000_000;

  /** Most instances run and saved together (fewer for large inputs); progress is saved after each chunk. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  JOBS_CHUNK_SIZE = 1024;

  /** Jobs one worker process runs at once. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  JOBS_CONCURRENCY = 1;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  JOBS_ATTEMPTS = 3;

  /** First retry delay; doubles with each attempt. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  JOBS_BACKOFF_MS = 2000;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  JOBS_TIMEOUT_MS = 3_600_000;

  /** Bull lock duration; must exceed the longest chunk. */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  JOBS_LOCK_MS = 60_000;

  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  QUEUE_DASHBOARD_ENABLED = false;

  /** Prefix of every Bull key in Redis, so several deployments (or test runs) can share one Redis. */
  @Matches(/^[A-Za-z0-9][A-Za-z0-9:_-]{0,63}$/, { message: 'must be 1-64 letters, digits, ":", "_" or "-"' })
  JOBS_QUEUE_PREFIX = 'modelforge';
  /** Credentials on every private route; false is for local development only (warned at start). */
  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  AUTH_ENABLED = true;

  /** Always accepted as an admin API key (at least 32 characters). */
  @IsOptional()
  @IsString()
  @Matches(/^\S{32,512}$/, { message: 'must be 32 to 512 characters without spaces' })
  ADMIN_API_KEY?: string;

  /** HMAC key that signs access tokens (at least 32 bytes); required in production once users exist. */
  @IsOptional()
  @IsString()
  @Matches(/^[\s\S]{32,1024}$/, { message: 'must be at least 32 characters' })
  JWT_SECRET?: string;

  /** Lifetime of an access token. */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(86_400)
  JWT_ACCESS_TTL_SECONDS = 900;

  /** Lifetime of a refresh token (each refresh rotates it). */
  @Transform(toInt)
  @IsInt()
  @Min(300)
  @Max(90 * 86_400)
  JWT_REFRESH_TTL_SECONDS = 7 * 86_400;

  @Matches(/^\S{1,128}$/, { message: 'must be 1-128 characters without spaces' })
  JWT_ISSUER = 'modelforge';

  @Matches(/^\S{1,128}$/, { message: 'must be 1-128 characters without spaces' })
  JWT_AUDIENCE = 'modelforge-api';

  /** Sets the Secure flag on the refresh cookie (default: on in production). */
  @IsOptional()
  @Transform(toBool)
  @IsIn([true, false], { message: 'must be true or false' })
  AUTH_COOKIE_SECURE?: boolean;

  /** A bearer token that may read /metrics only (at least 32 characters), for scrapers. */
  @IsOptional()
  @IsString()
  @Matches(/^\S{32,512}$/, { message: 'must be 32 to 512 characters without spaces' })
  METRICS_TOKEN?: string;

  /** Failed logins for one username, or from one address, before further attempts get 429. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  LOGIN_MAX_FAILURES = 5;

  /** Window over which failed logins are counted, and how long the lock lasts. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  LOGIN_LOCKOUT_SECONDS = 900;

  /**
   * Which proxies to believe about the client address (X-Forwarded-For), as Express's `trust
   * proxy`: false (default: the socket's peer), true, a hop count, or proxy addresses and subnets
   * (`loopback`, `10.0.0.0/8`). Behind a load balancer, set it: login throttling counts failures
   * per client address, and without it every client shares the balancer's.
   */
  @IsTrustProxy()
  TRUST_PROXY = 'false';

  /**
   * Default requests per minute per credential of each role (0 = unlimited); a key may override it.
   * A token bucket: bursts up to the limit, refilled at limit/60 per second.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_ADMIN_PER_MINUTE = 0;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_MAINTAINER_PER_MINUTE = 6000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_PREDICTOR_PER_MINUTE = 6000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_VIEWER_PER_MINUTE = 600;

  /** A rate-limit decision Redis has not made in this time is made by this replica alone (Redis outage). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  RATE_LIMIT_TIMEOUT_MS = 100;
}

/** Variables with no default, which `new Environment()` does not list. */
const OPTIONAL_VARIABLES = [
  'DATABASE_URL',
  'REDIS_URL',
  'LOG_FORMAT',
  'ADMIN_API_KEY',
  'JWT_SECRET',
  'AUTH_COOKIE_SECURE',
  'METRICS_TOKEN',
];

export class EnvironmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'EnvironmentError';
  }
}

function describe(error: ValidationError, raw: Record<string, string>): string {
  const value = raw[error.property] ?? '';
  const shown = (TOKEN_SECRET_VARIABLES as readonly string[]).includes(error.property)
    ? `<${value.length} characters>`
    : (URL_SECRET_VARIABLES as readonly string[]).includes(error.property)
      ? redactUrl(value)
      : value;
  const constraints = error.constraints ?? {};
  // A value that is not a number at all only needs that said, not its range too.
  const relevant = constraints.isInt ? { isInt: 'must be an integer' } : constraints;
  const reasons = Object.values(relevant).map((m) => m.replace(`${error.property} `, ''));
  return `${error.property}=${JSON.stringify(shown)}: ${reasons.join('; ')}`;
}

/** Validates the environment and returns typed values with defaults; throws one line per problem. */
export function loadEnvironment(source: NodeJS.ProcessEnv = process.env): Environment {
  const known = Object.keys(new Environment()).concat(OPTIONAL_VARIABLES);
  const raw: Record<string, string> = {};
  for (const key of known) {
    const value = source[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  if (source.CORS_ORIGINS === '') raw.CORS_ORIGINS = '';
  const env = plainToInstance(Environment, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false });
  if (errors.length > 0) throw new EnvironmentError(errors.map((e) => describe(e, raw)));
  return env;
}

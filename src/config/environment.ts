import { applyDecorators } from '@nestjs/common';
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

/**
 * The decorators as if written one above the other in this order. Decorators apply bottom-up, so
 * each rule registers its constraint in the same order as the stack it replaces, and a variable's
 * error line lists its problems in that order.
 */
function stacked(...decorators: PropertyDecorator[]): PropertyDecorator {
  return applyDecorators(...[...decorators].reverse());
}

const optional = (enabled: boolean | undefined): PropertyDecorator[] => (enabled ? [IsOptional()] : []);

/** An integer from `min` to `max` (no upper bound when `max` is omitted). */
export function IntVar(min: number, max?: number): PropertyDecorator {
  return stacked(Transform(toInt), IsInt(), Min(min), ...(max === undefined ? [] : [Max(max)]));
}

/** A decimal number from `min` to `max`. */
export function NumberVar(min: number, max: number): PropertyDecorator {
  return stacked(
    Transform(toFloat),
    IsNumber({}, { message: `must be a number from ${min} to ${max}` }),
    Min(min),
    Max(max),
  );
}

/** true/false, 1/0, yes/no or on/off. */
export function BoolVar(options: { optional?: boolean } = {}): PropertyDecorator {
  return stacked(
    ...optional(options.optional),
    Transform(toBool),
    IsIn([true, false], { message: 'must be true or false' }),
  );
}

/** One of `values`. */
export function EnumVar(values: readonly unknown[], options: { optional?: boolean } = {}): PropertyDecorator {
  return stacked(...optional(options.optional), IsIn([...values]));
}

/** An optional URL with one of `schemes`; `unsetMeans` says what runs without it. */
export function UrlVar(schemes: readonly string[], unsetMeans: string): PropertyDecorator {
  const names = schemes.map((scheme) => `${scheme}://`);
  const listed = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0];
  return stacked(
    IsOptional(),
    Matches(new RegExp(`^(${schemes.join('|')}):\\/\\/\\S+$`), {
      message: `must be a ${listed} URL (leave unset for ${unsetMeans})`,
    }),
  );
}

/** A string, matching `pattern` when one is given (`message` says what is expected). */
export function TextVar(pattern?: RegExp, message?: string): PropertyDecorator {
  return stacked(IsString(), ...(pattern ? [Matches(pattern, { message })] : []));
}

/** An optional secret (a key or a signing secret) matching `pattern`; errors never show it (see describe). */
export function SecretVar(pattern: RegExp, message: string): PropertyDecorator {
  return stacked(IsOptional(), IsString(), Matches(pattern, { message }));
}

const NO_SPACES_32_TO_512 = 'must be 32 to 512 characters without spaces';
const NAME_1_TO_128 = 'must be 1-128 characters without spaces';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const APP_ROLES = ['all', 'api', 'worker'] as const;
export type AppRole = (typeof APP_ROLES)[number];
export const ARTIFACT_STORES = ['local', 's3'] as const;
export type ArtifactStoreKind = (typeof ARTIFACT_STORES)[number];

/**
 * Every environment variable the service reads, with its default. `.env.example` documents the
 * same list; `loadEnvironment` validates it once at boot and `AppConfig` groups it by feature.
 */
export class Environment {
  @EnumVar(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IntVar(0, 65535)
  PORT = 3000;

  @TextVar()
  HOST = '0.0.0.0';

  /** Port of the Open Inference Protocol over gRPC, on HOST (0 = no gRPC server). */
  @IntVar(0, 65535)
  GRPC_PORT = 8001;

  @UrlVar(['postgres', 'postgresql'], 'embedded SQLite')
  DATABASE_URL?: string;

  @IntVar(1, 200)
  DATABASE_POOL_SIZE = 10;

  @BoolVar()
  DATABASE_MIGRATIONS_RUN = true;

  @UrlVar(['redis', 'rediss'], 'in-memory')
  REDIS_URL?: string;

  @TextVar(/\S/, 'must not be empty')
  DATA_DIR = './data';

  @EnumVar(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  @EnumVar(['json', 'pretty'], { optional: true })
  LOG_FORMAT?: 'json' | 'pretty';

  @IntVar(1024)
  MAX_MODEL_BYTES = 512 * 1024 * 1024;

  @IntVar(1024, 1024 * 1024 * 1024)
  MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;

  /** Largest JSON body of a registry route (create or change a model); 413 above. */
  @IntVar(1024, 64 * 1024 * 1024)
  MAX_REGISTRY_BODY_BYTES = 1024 * 1024;

  /** Request body bytes held in memory by all requests at once; past it, 503 with Retry-After. */
  @IntVar(1024)
  MAX_INFLIGHT_BODY_BYTES = 128 * 1024 * 1024;

  /** Uploads and job submissions are refused (507) when the data folder has less free space than this. */
  @IntVar(0)
  MIN_FREE_DISK_BYTES = 256 * 1024 * 1024;

  // --- artifact store -----------------------------------------------------------------------
  /** Where model files live: `local` (DATA_DIR/artifacts) or `s3` (an S3-compatible bucket). */
  @EnumVar(ARTIFACT_STORES)
  ARTIFACT_STORE: ArtifactStoreKind = 'local';

  /** Endpoint of an S3-compatible service (MinIO, R2, s3rver); unset = AWS S3 of S3_REGION. */
  @UrlVar(['http', 'https'], 'AWS S3')
  S3_ENDPOINT?: string;

  /** Region of the bucket; required with ARTIFACT_STORE=s3. */
  @stacked(IsOptional(), Matches(/^[a-z0-9-]{1,64}$/, { message: 'must be a region name such as us-east-1' }))
  S3_REGION?: string;

  /** Bucket of the model files; required with ARTIFACT_STORE=s3. */
  @stacked(
    IsOptional(),
    Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      message: 'must be an S3 bucket name (3-63 of a-z, 0-9, ".", "-")',
    }),
  )
  S3_BUCKET?: string;

  /** Prepended to every object key (`models/` puts them under that folder); empty or ending in "/". */
  @TextVar(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'must be empty or folder names each ending in "/" (no leading "/")')
  S3_PREFIX = '';

  /** Path-style URLs (endpoint/bucket/key), which MinIO and s3rver need; false = virtual-hosted style. */
  @BoolVar()
  S3_FORCE_PATH_STYLE = false;

  /** Bytes of downloaded model files each process keeps under DATA_DIR/artifact-cache with the s3 store (LRU). */
  @IntVar(1024 * 1024)
  ARTIFACT_CACHE_MAX_BYTES = 4 * 1024 ** 3;

  /** Model uploads handled at once by this process; past it, 429 with Retry-After. */
  @IntVar(1, 1000)
  MAX_CONCURRENT_UPLOADS = 4;

  /** Browser origins allowed to call the API (an allowlist; `*` is refused, credentials are involved). */
  @TextVar(
    /^((https?:\/\/[^,\s*]+)(,\s*https?:\/\/[^,\s*]+)*)?$/,
    'must be empty or a comma-separated list of http(s) origins (no wildcard)',
  )
  CORS_ORIGINS = '';

  @IntVar(0, 600_000)
  SHUTDOWN_DRAIN_MS = 0;

  @IntVar(0, 600_000)
  SHUTDOWN_GRACE_MS = 15_000;

  @BoolVar()
  DOCS_ENABLED = true;

  /** Worker threads that own ONNX Runtime sessions (0 = one per core, at most 4). */
  @IntVar(0, 64)
  INFERENCE_WORKERS = 0;

  /** ONNX Runtime intra-op threads per worker (0 = cores / workers, at least 1). */
  @IntVar(0, 64)
  INFERENCE_INTRA_OP_THREADS = 0;

  @BoolVar()
  INFERENCE_SPINNING = false;

  @IntVar(10, 3_600_000)
  INFERENCE_TIMEOUT_MS = 30_000;

  /** Resident memory an inference process may reach; past it, it is killed and replaced. 0 turns it off. */
  @IntVar(0)
  INFERENCE_PROCESS_MAX_RSS_BYTES = 4 * 1024 ** 3;

  /** Requests per model version waiting or running at once; past it, 429. */
  @IntVar(1, 100_000)
  INFERENCE_MAX_QUEUE = 64;

  /**
   * Shadow runs (traffic policy `shadow`) in flight per model, and waiting or running per shadow
   * model file in the engine; past it a mirror is dropped (counted).
   */
  @IntVar(1, 100_000)
  SHADOW_MAX_IN_FLIGHT = 8;

  @IntVar(1, 10_000)
  INFERENCE_MAX_LOADED_VERSIONS = 16;

  /** Sum of model file sizes kept loaded (0 = no limit besides INFERENCE_MAX_LOADED_VERSIONS). */
  @IntVar(0)
  INFERENCE_MEMORY_BUDGET_BYTES = 0;

  @EnumVar(['eager', 'lazy'])
  INFERENCE_LOAD: 'eager' | 'lazy' = 'eager';

  /** Largest number of elements across all input tensors of one request. */
  @IntVar(1, 1_000_000_000)
  MAX_TENSOR_ELEMENTS = 16_000_000;

  /** Largest number of elements across the outputs a request asks for; past it, 422 naming the output. */
  @IntVar(1, 1_000_000_000)
  MAX_OUTPUT_ELEMENTS = 8_000_000;

  /** Elements across all synthetic inputs of one upload warm-up run. */
  @IntVar(1, 100_000_000)
  WARMUP_MAX_ELEMENTS = 1_000_000;

  /** What this process runs: the HTTP API, the job worker, or both. */
  @EnumVar(APP_ROLES)
  APP_ROLE: AppRole = 'all';

  // --- prediction cache -------------------------------------------------------------------
  @BoolVar()
  CACHE_DEFAULT_ENABLED = true;

  @IntVar(1, 30 * 24 * 3600)
  CACHE_DEFAULT_TTL_SECONDS = 300;

  /** Responses larger than this are not cached. */
  @IntVar(0)
  CACHE_MAX_ENTRY_BYTES = 1024 * 1024;

  /** Size bound of the in-memory LRU used without REDIS_URL. */
  @IntVar(0)
  CACHE_MEMORY_MAX_BYTES = 64 * 1024 * 1024;

  /** A cache operation slower than this counts as a miss (Redis outage, network trouble). */
  @IntVar(1, 10_000)
  CACHE_TIMEOUT_MS = 100;

  // --- prediction log ---------------------------------------------------------------------
  /** Share of predictions written to the log: 0 to 1. */
  @NumberVar(0, 1)
  PREDICTION_LOG_SAMPLE_RATE = 1;

  @IntVar(1, 3650)
  PREDICTION_LOG_RETENTION_DAYS = 30;

  @IntVar(10, 600_000)
  PREDICTION_LOG_FLUSH_MS = 1000;

  @IntVar(1, 10_000)
  PREDICTION_LOG_BATCH_SIZE = 500;

  /** Rows held in memory waiting for the database; past it, rows are dropped and counted. */
  @IntVar(1)
  PREDICTION_LOG_MAX_BUFFER = 50_000;

  // --- queued jobs --------------------------------------------------------------------------
  @IntVar(1, 1_000_000)
  JOBS_MAX_INSTANCES = 10_000;

  /** Bytes of one job submission as sent (JSON or NDJSON); past it, 413 and nothing is stored. */
  @IntVar(1024)
  JOBS_MAX_SUBMISSION_BYTES = 512 * 1024 * 1024;

  /** Bytes of one job's decoded tensors (what is stored); past it, 413 and nothing is stored. */
  @IntVar(1024)
  JOBS_MAX_DECODED_BYTES = 1024 * 1024 * 1024;

  /** Elements across the inputs of one job instance. */
  @IntVar(1, 1_000_000_000)
  JOBS_MAX_INSTANCE_ELEMENTS = 4_000_000;

  /** Most instances run and saved together (fewer for large inputs); progress is saved after each chunk. */
  @IntVar(1, 10_000)
  JOBS_CHUNK_SIZE = 1024;

  /** Jobs one worker process runs at once. */
  @IntVar(1, 64)
  JOBS_CONCURRENCY = 1;

  @IntVar(1, 100)
  JOBS_ATTEMPTS = 3;

  /** First retry delay; doubles with each attempt. */
  @IntVar(0)
  JOBS_BACKOFF_MS = 2000;

  @IntVar(1000)
  JOBS_TIMEOUT_MS = 3_600_000;

  /** Bull lock duration; must exceed the longest chunk. */
  @IntVar(1000)
  JOBS_LOCK_MS = 60_000;

  @BoolVar()
  QUEUE_DASHBOARD_ENABLED = false;

  /** Prefix of the Redis keys of Bull, auth events, rate limits and login throttling, so deployments can share one Redis. */
  @TextVar(/^[A-Za-z0-9][A-Za-z0-9:_-]{0,63}$/, 'must be 1-64 letters, digits, ":", "_" or "-"')
  JOBS_QUEUE_PREFIX = 'modelforge';

  // --- authentication -----------------------------------------------------------------------
  /** Credentials on every private route; false is for local development only (warned at start). */
  @BoolVar()
  AUTH_ENABLED = true;

  /** Always accepted as an admin API key (at least 32 characters). */
  @SecretVar(/^\S{32,512}$/, NO_SPACES_32_TO_512)
  ADMIN_API_KEY?: string;

  /** HMAC key that signs access tokens (at least 32 bytes); required in production once users exist. */
  @SecretVar(/^[\s\S]{32,1024}$/, 'must be at least 32 characters')
  JWT_SECRET?: string;

  /** Lifetime of an access token. */
  @IntVar(60, 86_400)
  JWT_ACCESS_TTL_SECONDS = 900;

  /** Lifetime of a refresh token (each refresh rotates it). */
  @IntVar(300, 90 * 86_400)
  JWT_REFRESH_TTL_SECONDS = 7 * 86_400;

  @TextVar(/^\S{1,128}$/, NAME_1_TO_128)
  JWT_ISSUER = 'modelforge';

  @TextVar(/^\S{1,128}$/, NAME_1_TO_128)
  JWT_AUDIENCE = 'modelforge-api';

  /** Sets the Secure flag on the refresh cookie (default: on in production). */
  @BoolVar({ optional: true })
  AUTH_COOKIE_SECURE?: boolean;

  /** A bearer token that may read /metrics only (at least 32 characters), for scrapers. */
  @SecretVar(/^\S{32,512}$/, NO_SPACES_32_TO_512)
  METRICS_TOKEN?: string;

  /** Failed logins for one username, or from one address, before further attempts get 429. */
  @IntVar(1, 1000)
  LOGIN_MAX_FAILURES = 5;

  /** Window over which failed logins are counted, and how long the lock lasts. */
  @IntVar(1, 86_400)
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
  @IntVar(0, 1_000_000)
  RATE_LIMIT_ADMIN_PER_MINUTE = 0;

  @IntVar(0, 1_000_000)
  RATE_LIMIT_MAINTAINER_PER_MINUTE = 6000;

  @IntVar(0, 1_000_000)
  RATE_LIMIT_PREDICTOR_PER_MINUTE = 6000;

  @IntVar(0, 1_000_000)
  RATE_LIMIT_VIEWER_PER_MINUTE = 600;

  /** A rate-limit decision Redis has not made in this time is made by this replica alone (Redis outage). */
  @IntVar(1, 10_000)
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
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_BUCKET',
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
  const problems = errors.map((e) => describe(e, raw)).concat(crossFieldProblems(env));
  if (problems.length > 0) throw new EnvironmentError(problems);
  return env;
}

/** Rules between variables: what the S3 store needs, and a cache that can hold the largest model. */
function crossFieldProblems(env: Environment): string[] {
  if (env.ARTIFACT_STORE !== 's3') return [];
  const problems = (['S3_BUCKET', 'S3_REGION'] as const)
    .filter((name) => env[name] === undefined)
    .map((name) => `${name}: required with ARTIFACT_STORE=s3`);
  if (Number.isInteger(env.ARTIFACT_CACHE_MAX_BYTES) && env.ARTIFACT_CACHE_MAX_BYTES < env.MAX_MODEL_BYTES) {
    problems.push(
      `ARTIFACT_CACHE_MAX_BYTES=${JSON.stringify(String(env.ARTIFACT_CACHE_MAX_BYTES))}: ` +
        'must be at least MAX_MODEL_BYTES with ARTIFACT_STORE=s3 (the cache holds the file of every loaded model)',
    );
  }
  return problems;
}

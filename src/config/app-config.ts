import * as os from 'node:os';
import * as path from 'node:path';
import { Environment, LogLevel } from './environment';

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
  get corsOrigins(): string[] | '*' | undefined {
    const raw = this.env.CORS_ORIGINS.trim();
    if (raw === '') return undefined;
    if (raw === '*') return '*';
    return raw.split(',').map((o) => o.trim());
  }
  get shutdownDrainMs(): number {
    return this.env.SHUTDOWN_DRAIN_MS;
  }
  get shutdownGraceMs(): number {
    return this.env.SHUTDOWN_GRACE_MS;
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
}

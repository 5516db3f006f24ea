import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import type { Caller } from '../auth/caller';
import { modelPatternsWhere } from '../auth/model-patterns';
import { modelVisibleTo } from '../auth/model-scope';
import { NotFoundError } from '../common/errors';
import { Page, pageOf } from '../common/pagination';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { ListPredictionsQueryDto, PredictionLogDto } from './dto/prediction-log.dto';
import { PredictionEntity } from './entities/prediction.entity';
import { TrafficRollupService } from './traffic-rollup.service';

/** A row to log; `role` defaults to `served`, the shadow columns to null, `id` to a new UUID. */
export type PredictionLogRow = Omit<PredictionEntity, 'id' | 'createdAt' | ShadowColumns> &
  Partial<Pick<PredictionEntity, ShadowColumns>> & { id?: string; createdAt?: Date };
type ShadowColumns = 'role' | 'servedId' | 'agrees' | 'maxRelDiff';

const LOG_COLUMNS =
  'id, model, version, status, status_code, cached, latency_ms, input_hash, error, actor, protocol, inputs, outputs, ' +
  'role, served_id, agrees, max_rel_diff, created_at';

/** Rows per INSERT statement (PostgreSQL allows 65,535 parameters, SQLite 32,766; a row has 18). */
const ROWS_PER_STATEMENT = 1_500;
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const DROP_LOG_INTERVAL_MS = 30_000;
/** Inputs and outputs kept for opted-in models are cut beyond this many characters. */
const MAX_PAYLOAD_CHARS = 64 * 1024;

/**
 * The prediction log. Rows are sampled, buffered in memory and written in batches off the request
 * path; a database problem drops log rows (counted in metrics and logged once per interval),
 * never predictions. Rows older than the retention period are deleted on a schedule.
 */
@Injectable()
export class PredictionLogService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PredictionLogService.name);
  private buffer: PredictionLogRow[] = [];
  private flushing: Promise<void> | undefined;
  private nextFlush: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private lastDropLog = 0;

  constructor(
    @InjectRepository(PredictionEntity) private readonly rows: Repository<PredictionEntity>,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly rollups: TrafficRollupService,
  ) {}

  onModuleInit(): void {
    const { flushMs } = this.config.predictionLog;
    // Timers have no caller to tell: flush and prune log their own failures and never reject.
    this.timers.push(setInterval(() => void this.flush(), flushMs).unref());
    this.timers.push(setInterval(() => void this.prune(), RETENTION_INTERVAL_MS).unref());
  }

  /** The first retention pass runs before the service takes traffic, not at some moment during it. */
  async onApplicationBootstrap(): Promise<void> {
    await this.prune();
  }

  async onApplicationShutdown(): Promise<void> {
    this.timers.forEach((t) => clearInterval(t));
    await this.flush();
  }

  /**
   * Queues one row (subject to sampling); never throws, never waits for the database. Returns the
   * row's id (a shadow row links to it), also when the row is not kept. Every row, sampled or not,
   * is counted in the traffic rollups first.
   */
  record(row: PredictionLogRow): string {
    const id = row.id ?? randomUUID();
    const createdAt = row.createdAt ?? new Date();
    this.rollups.record({
      model: row.model,
      version: row.version,
      role: row.role ?? 'served',
      status: row.status,
      latencyMs: row.latencyMs,
      agrees: row.agrees ?? null,
      maxRelDiff: row.maxRelDiff ?? null,
      at: createdAt,
    });
    const { sampleRate, maxBuffer, batchSize } = this.config.predictionLog;
    if (sampleRate < 1 && Math.random() >= sampleRate) return id;
    if (this.buffer.length >= maxBuffer) {
      this.dropped(1, 'the log buffer is full');
      return id;
    }
    if (row.inputs) row.inputs = row.inputs.slice(0, MAX_PAYLOAD_CHARS);
    if (row.outputs) row.outputs = row.outputs.slice(0, MAX_PAYLOAD_CHARS);
    this.buffer.push({ ...row, id, createdAt });
    // Not awaited: recording never waits for the database (flush logs what it drops).
    if (this.buffer.length >= batchSize) setImmediate(() => void this.flush());
    return id;
  }

  /**
   * Writes everything buffered, including rows recorded while an earlier flush was writing:
   * a call during a flush waits for it and then flushes again (callers meanwhile share that one).
   */
  flush(): Promise<void> {
    if (this.flushing) {
      this.nextFlush ??= this.flushing.then(() => {
        this.nextFlush = undefined;
        return this.flush();
      });
      return this.nextFlush;
    }
    this.flushing = this.writeAll().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Newest first; a credential scoped to model patterns sees only rows of those models (in SQL). */
  async list(query: ListPredictionsQueryDto, caller: Caller): Promise<Page<PredictionLogDto>> {
    const qb = this.rows.createQueryBuilder('p');
    if (query.model) qb.andWhere('p.model = :model', { model: query.model });
    if (query.version) qb.andWhere('p.version = :version', { version: query.version });
    if (query.status) qb.andWhere('p.status = :status', { status: query.status });
    const scope = modelPatternsWhere('p.model', caller.principal.models);
    if (scope) qb.andWhere(scope.sql, scope.parameters);
    const [rows, total] = await qb
      .orderBy('p.createdAt', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .skip(query.skip)
      .take(query.limit)
      .getManyAndCount();
    return pageOf(rows.map(toDto), total, query);
  }

  async get(id: string, caller: Caller): Promise<PredictionLogDto> {
    const row = await this.rows.findOneBy({ id });
    if (!row || !modelVisibleTo(caller, row.model)) {
      throw new NotFoundError(`No prediction ${id} in the log (it may not have been sampled, or has expired)`);
    }
    return toDto(row);
  }

  /** Deletes rows older than PREDICTION_LOG_RETENTION_DAYS. */
  async prune(): Promise<number> {
    const cutoff = new Date(Date.now() - this.config.predictionLog.retentionDays * 24 * 3600 * 1000);
    try {
      const result = await this.rows.delete({ createdAt: LessThan(cutoff) });
      return result.affected ?? 0;
    } catch (error) {
      this.logger.warn({ msg: 'prediction log retention failed', err: (error as Error).message });
      return 0;
    }
  }

  private async writeAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, Math.min(this.config.predictionLog.batchSize, ROWS_PER_STATEMENT));
      try {
        await this.insertBatch(batch);
        this.metrics.increment('prediction_log_written_total', 'Prediction log rows written', {}, batch.length);
        this.metrics.increment('prediction_log_batches_total', 'INSERT statements of the prediction log');
      } catch (error) {
        this.dropped(batch.length, (error as Error).message);
      }
    }
  }

  /**
   * One multi-row INSERT built here: TypeORM's entity insert spends ~0.1 ms of CPU per row, which
   * on SQLite (synchronous driver) stalled the HTTP thread for ~50 ms per batch of 500.
   */
  private async insertBatch(batch: PredictionLogRow[]): Promise<void> {
    const postgres = this.rows.manager.connection.options.type === 'postgres';
    const params: unknown[] = [];
    const tuples = batch.map((row) => {
      const createdAt = row.createdAt ?? new Date();
      const values = [
        row.id ?? randomUUID(),
        row.model,
        row.version,
        row.status,
        row.statusCode,
        postgres ? row.cached : Number(row.cached),
        row.latencyMs,
        row.inputHash,
        row.error,
        row.actor,
        row.protocol,
        row.inputs,
        row.outputs,
        row.role ?? 'served',
        row.servedId ?? null,
        row.agrees === undefined || row.agrees === null ? null : postgres ? row.agrees : Number(row.agrees),
        row.maxRelDiff ?? null,
        // SQLite keeps TypeORM's UTC text format, so reads and range queries compare alike.
        postgres ? createdAt : createdAt.toISOString().replace('T', ' ').replace('Z', ''),
      ];
      const marks = values.map((value) => {
        params.push(value);
        return postgres ? `$${params.length}` : '?';
      });
      return `(${marks.join(', ')})`;
    });
    await this.rows.query(`INSERT INTO predictions (${LOG_COLUMNS}) VALUES ${tuples.join(', ')}`, params);
  }

  private dropped(count: number, reason: string): void {
    this.metrics.increment(
      'prediction_log_dropped_total',
      'Prediction log rows lost (predictions were not)',
      {},
      count,
    );
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
      this.lastDropLog = now;
      this.logger.warn({ msg: 'prediction log rows dropped', count, reason });
    }
  }
}

function toDto(row: PredictionEntity): PredictionLogDto {
  return {
    id: row.id,
    model: row.model,
    version: row.version,
    status: row.status,
    statusCode: row.statusCode,
    cached: Boolean(row.cached),
    latencyMs: row.latencyMs,
    inputHash: row.inputHash,
    error: row.error,
    actor: row.actor,
    protocol: row.protocol,
    role: row.role,
    servedId: row.servedId,
    agrees: row.agrees === null ? null : Boolean(row.agrees),
    maxRelDiff: row.maxRelDiff,
    createdAt: row.createdAt.toISOString(),
    ...(row.inputs !== null ? { inputs: row.inputs } : {}),
    ...(row.outputs !== null ? { outputs: row.outputs } : {}),
  };
}

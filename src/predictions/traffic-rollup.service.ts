import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, FindOptionsWhere, MoreThanOrEqual, Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { MODEL_CHANGED, type ModelChangedEvent } from '../models/model-events';
import type { PredictionRole } from './entities/prediction.entity';
import { TrafficRollupEntity } from './entities/traffic-rollup.entity';
import { LatencyHistogram } from './latency-histogram';
import {
  emptyRollup,
  mergeRollup,
  minuteOf,
  observe,
  rollupKey,
  type RollupObservation,
  type TrafficRollup,
} from './traffic-rollup';

/**
 * (model, version, role, minute) keys waiting in memory per replica at most; a request of a new key
 * beyond it is not counted (traffic_rollup_dropped_total). A key costs a few hundred bytes plus
 * its histogram's non-empty buckets (157 at most), so this bounds the memory to a few MB.
 */
export const MAX_PENDING_ROLLUPS = 10_000;
/** The longest stats window (MAX_STATS_MINUTES) and its partial first minute, plus an hour's margin. */
export const ROLLUP_RETENTION_MINUTES = 1440 + 1 + 60;
/**
 * Rows per transaction: fewer commits than one per row; rows are locked in key order, so replicas
 * flushing the same keys wait for each other but never deadlock.
 */
const ROWS_PER_TRANSACTION = 100;
/** Failed flushes of one key before its counts are dropped (a row the database keeps refusing). */
const MAX_WRITE_ATTEMPTS = 3;
const RETENTION_INTERVAL_MS = 10 * 60 * 1000;
const NO_VERSION = -1;
/** int4 columns: a version outside it is not one a request could have been served by. */
const MAX_VERSION = 2 ** 31 - 1;

interface Pending extends TrafficRollup {
  attempts?: number;
}

/**
 * Per-minute traffic rollups for GET .../traffic/stats. The prediction log hands every served and
 * shadow request here before it samples, so the counts are of every request, not of logged rows.
 * Each replica sums them in memory per (model, version, role, minute) and, every
 * PREDICTION_LOG_FLUSH_MS and at shutdown, adds them into `traffic_rollups`:
 * - counts, sums, max and min are added in the upsert itself (`ON CONFLICT ... DO UPDATE SET
 *   requests = traffic_rollups.requests + excluded.requests`), atomic on both engines;
 * - the histogram (sparse JSON) is merged in code: in the same transaction, the upsert returns the
 *   row's buckets and an UPDATE writes the sum. The upsert holds the row lock until commit
 *   (PostgreSQL; SQLite has a single writer), so no other replica can write the row in between.
 *   Up to ROWS_PER_TRANSACTION rows per transaction, in key order, so two replicas writing the
 *   same rows never deadlock.
 * A failed transaction's rows and those after it go back into memory for the next flush (dropped
 * after MAX_WRITE_ATTEMPTS failed flushes).
 *
 * Reads and flushes of this replica exclude each other, so a stats call counts this replica's
 * requests exactly once: either in memory or in the table, never in both or neither.
 */
@Injectable()
export class TrafficRollupService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TrafficRollupService.name);
  private pending = new Map<string, Pending>();
  private flushing: Promise<void> | undefined;
  private nextFlush: Promise<void> | undefined;
  /** Set while a flush moves rollups from memory to the table: reads wait for it. */
  private gate: Promise<void> | undefined;
  private readers = 0;
  private drained: (() => void) | undefined;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @InjectRepository(TrafficRollupEntity) private readonly rows: Repository<TrafficRollupEntity>,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    // Timers have no caller to tell: flush and prune log their own failures and never reject.
    this.timers.push(setInterval(() => void this.flush(), this.config.predictionLog.flushMs).unref());
    this.timers.push(setInterval(() => void this.prune(), RETENTION_INTERVAL_MS).unref());
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.prune();
  }

  async onApplicationShutdown(): Promise<void> {
    this.timers.forEach((t) => clearInterval(t));
    await this.flush();
  }

  /**
   * Counts one request (never throws, never waits). Requests that no stats answer shows are left
   * out: no model, a served request without a version (it failed before naming one), a name or
   * version the table cannot hold (the request cannot have been served by it).
   */
  record(o: Omit<RollupObservation, 'model'> & { model: string | null }): void {
    const { model, version } = o;
    if (model === null || model.length === 0 || model.length > 64) return;
    if (version === null ? o.role !== 'shadow' : !Number.isInteger(version) || version < 0 || version > MAX_VERSION) {
      return;
    }
    const key = { model, version, role: o.role, minute: minuteOf(o.at) };
    const rollup = this.pendingFor(key);
    if (rollup) observe(rollup, { ...o, model });
  }

  /**
   * The rollups from minute `since` on, of one model or (model undefined) of every model, of one
   * role or of both: the table's rows (every replica's flushed minutes) and this replica's minutes
   * not flushed yet. At most (minutes since `since`) × (model, version, role) keys seen rows are
   * read, on the primary key's (model, minute) prefix for one model, on the minute index for all.
   */
  async window(model: string | undefined, since: number, role?: PredictionRole): Promise<TrafficRollup[]> {
    while (this.gate) await this.gate;
    this.readers++;
    try {
      const where: FindOptionsWhere<TrafficRollupEntity> = { minute: MoreThanOrEqual(since) };
      if (model !== undefined) where.model = model;
      if (role !== undefined) where.role = role;
      const stored = await this.rows.find({ where });
      // No flush ran during the read (it waits for readers): memory holds exactly what the table does not.
      const rollups = stored.map(fromEntity);
      for (const rollup of this.pending.values()) {
        if ((model !== undefined && rollup.model !== model) || (role !== undefined && rollup.role !== role)) continue;
        if (rollup.minute < since) continue;
        const copy = emptyRollup(rollup);
        mergeRollup(copy, rollup);
        rollups.push(copy);
      }
      return rollups;
    } finally {
      this.readers--;
      if (this.readers === 0) this.drained?.();
    }
  }

  /**
   * Adds everything in memory into the table. A call during a flush waits for it and then flushes
   * again (callers meanwhile share that one), so what was recorded before the call is written.
   */
  flush(): Promise<void> {
    if (this.flushing) {
      this.nextFlush ??= this.flushing.then(() => {
        this.nextFlush = undefined;
        return this.flush();
      });
      return this.nextFlush;
    }
    this.flushing = this.exclusive(() => this.writeAll()).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Deletes rows older than ROLLUP_RETENTION_MINUTES. */
  async prune(): Promise<number> {
    try {
      const cutoff = minuteOf(Date.now()) - ROLLUP_RETENTION_MINUTES;
      const result = await this.rows.createQueryBuilder().delete().where('minute < :cutoff', { cutoff }).execute();
      return result.affected ?? 0;
    } catch (error) {
      this.logger.warn({ msg: 'traffic rollup retention failed', err: (error as Error).message });
      return 0;
    }
  }

  /**
   * A deleted model's rollups go, here and in the table. With REDIS_URL every replica hears the
   * delete and does the same, so only requests it records after hearing it (in flight then) may
   * still land; without Redis, another replica's minutes not flushed then (one flush interval) may.
   * Retention removes what lands.
   */
  @OnEvent(MODEL_CHANGED)
  async onModelChanged(event: ModelChangedEvent): Promise<void> {
    if (event.kind !== 'deleted') return;
    await this.exclusive(async () => {
      for (const [key, rollup] of this.pending) if (rollup.model === event.model) this.pending.delete(key);
      try {
        await this.rows.delete({ model: event.model });
      } catch (error) {
        this.logger.warn({ msg: 'traffic rollups of a deleted model remain', err: (error as Error).message });
      }
    });
  }

  /** Runs `work` with no read in progress and none starting before it ends (flushes are serial already). */
  private async exclusive(work: () => Promise<void>): Promise<void> {
    while (this.gate) await this.gate;
    let open!: () => void;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    try {
      while (this.readers > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
      await work();
    } finally {
      this.gate = undefined;
      open();
    }
  }

  private async writeAll(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()].sort(byKey);
    this.pending = new Map();
    for (let start = 0; start < batch.length; start += ROWS_PER_TRANSACTION) {
      const rows = batch.slice(start, start + ROWS_PER_TRANSACTION);
      try {
        await this.rows.manager.transaction(async (manager) => {
          for (const rollup of rows) await this.upsert(manager, rollup);
        });
        this.metrics.increment('traffic_rollup_rows_written_total', 'Traffic rollup rows added into', {}, rows.length);
      } catch (error) {
        // The database is likely unavailable: keep the rest for the next flush rather than fail each.
        const rest = batch.slice(start);
        for (const rollup of rest) {
          rollup.attempts = (rollup.attempts ?? 0) + 1;
          if (rollup.attempts >= MAX_WRITE_ATTEMPTS) this.dropped(rollup.requests);
          else this.restore(rollup);
        }
        this.logger.warn({ msg: 'traffic rollups not written yet', rows: rest.length, err: (error as Error).message });
        return;
      }
    }
  }

  private async upsert(manager: EntityManager, r: TrafficRollup): Promise<void> {
    const postgres = manager.connection.options.type === 'postgres';
    const mark = (n: number) => (postgres ? `$${n}` : '?');
    const version = r.version ?? NO_VERSION;
    const latency = r.latency.total > 0;
    const values = [
      r.model,
      r.minute,
      version,
      r.role,
      r.requests,
      r.errors,
      r.dropped,
      r.compared,
      r.agreed,
      r.diffs,
      r.diffSum,
      r.diffMax,
      latency ? r.latency.min : null,
      latency ? r.latency.max : null,
    ];
    const add = (c: string) => `${c} = traffic_rollups.${c} + excluded.${c}`;
    // Keeps the larger (smaller) of two values, either of which may be null.
    const pick = (c: string, op: '>' | '<') =>
      `${c} = CASE WHEN traffic_rollups.${c} IS NULL OR excluded.${c} ${op} traffic_rollups.${c} ` +
      `THEN excluded.${c} ELSE traffic_rollups.${c} END`;
    const rows = (await manager.query(
      'INSERT INTO traffic_rollups (model, minute, version, role, requests, errors, dropped, compared, agreed, ' +
        'diffs, diff_sum, diff_max, latency_min, latency_max) ' +
        `VALUES (${values.map((_, i) => mark(i + 1)).join(', ')}) ` +
        'ON CONFLICT (model, minute, version, role) DO UPDATE SET ' +
        ['requests', 'errors', 'dropped', 'compared', 'agreed', 'diffs', 'diff_sum'].map(add).join(', ') +
        `, ${pick('diff_max', '>')}, ${pick('latency_min', '<')}, ${pick('latency_max', '>')} ` +
        'RETURNING latency_buckets',
      values,
    )) as { latency_buckets: string }[];
    if (!latency) return;
    // The row is ours until commit: no replica writes its buckets between this read and the UPDATE.
    const merged = LatencyHistogram.fromStored(rows[0]?.latency_buckets ?? null, null, null);
    merged.merge(r.latency);
    await manager.query(
      `UPDATE traffic_rollups SET latency_buckets = ${mark(1)} ` +
        `WHERE model = ${mark(2)} AND minute = ${mark(3)} AND version = ${mark(4)} AND role = ${mark(5)}`,
      [merged.bucketsJson(), r.model, r.minute, version, r.role],
    );
  }

  /** The key's rollup in memory, made if there is room; else `requests` are counted as dropped. */
  private pendingFor(
    key: Pick<TrafficRollup, 'model' | 'version' | 'role' | 'minute'>,
    requests = 1,
  ): Pending | undefined {
    const id = rollupKey(key);
    let rollup = this.pending.get(id);
    if (!rollup) {
      if (this.pending.size >= MAX_PENDING_ROLLUPS) {
        this.dropped(requests);
        return undefined;
      }
      rollup = emptyRollup(key);
      this.pending.set(id, rollup);
    }
    return rollup;
  }

  /** Puts an unwritten rollup back, adding into what was recorded meanwhile. */
  private restore(rollup: Pending): void {
    const into = this.pendingFor(rollup, rollup.requests);
    if (!into) return;
    mergeRollup(into, rollup);
    into.attempts = Math.max(into.attempts ?? 0, rollup.attempts ?? 0);
  }

  private dropped(requests: number): void {
    this.metrics.increment(
      'traffic_rollup_dropped_total',
      `Requests left out of the traffic stats: more than ${MAX_PENDING_ROLLUPS} minute rollups waiting, or a rollup the database refused ${MAX_WRITE_ATTEMPTS} times`,
      {},
      requests,
    );
  }
}

function byKey(a: TrafficRollup, b: TrafficRollup): number {
  if (a.model !== b.model) return a.model < b.model ? -1 : 1;
  return a.minute - b.minute || (a.version ?? NO_VERSION) - (b.version ?? NO_VERSION) || a.role.localeCompare(b.role);
}

function fromEntity(row: TrafficRollupEntity): TrafficRollup {
  const num = (value: unknown) => Number(value);
  const orNull = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return {
    model: row.model,
    version: num(row.version) === NO_VERSION ? null : num(row.version),
    role: row.role,
    minute: num(row.minute),
    requests: num(row.requests),
    errors: num(row.errors),
    dropped: num(row.dropped),
    compared: num(row.compared),
    agreed: num(row.agreed),
    diffs: num(row.diffs),
    diffSum: num(row.diffSum),
    diffMax: orNull(row.diffMax),
    latency: LatencyHistogram.fromStored(row.latencyBuckets, orNull(row.latencyMin), orNull(row.latencyMax)),
  };
}

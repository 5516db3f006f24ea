import { once } from 'node:events';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import type { CheckpointWorkerSettings } from './sqlite-checkpoint-worker';

const WORKER_SCRIPT = path.join(__dirname, 'sqlite-checkpoint-worker.js');
/** How often the thread checkpoints; one with nothing new in the log costs microseconds. */
const CHECKPOINT_INTERVAL_MS = 250;
/** SQLite's default: checkpoint after a commit once the log holds this many pages. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/**
 * On SQLite, a thread of its own checkpoints the write-ahead log (sqlite-checkpoint-worker.ts),
 * not the connection that commits. TypeORM's one better-sqlite3 connection runs on the HTTP thread,
 * and SQLite's automatic checkpoint after a commit copies and syncs every page written since the
 * last one, there and then: about 80 ms after a 14 MB job instance, every other request waiting.
 * The connection's own automatic checkpoint is off while the thread runs and comes back if the
 * thread ends, so the log never grows without bound. Does nothing on PostgreSQL.
 */
@Injectable()
export class SqliteCheckpointer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SqliteCheckpointer.name);
  private worker?: Worker;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** True while the thread runs and the connection leaves checkpoints to it. */
  get active(): boolean {
    return this.worker !== undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.dataSource.options.type !== 'better-sqlite3') return;
    const settings: CheckpointWorkerSettings = {
      path: this.config.database.sqlitePath,
      intervalMs: CHECKPOINT_INTERVAL_MS,
    };
    const worker = new Worker(WORKER_SCRIPT, { workerData: settings });
    try {
      await once(worker, 'message');
    } catch (error) {
      this.logger.warn({ msg: 'SQLite checkpoints stay on the HTTP thread', err: (error as Error).message });
      return;
    }
    worker.unref();
    worker.on('error', (error) => this.logger.warn({ msg: 'SQLite checkpoint thread failed', err: error.message }));
    worker.once('exit', () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.logger.warn({ msg: 'SQLite checkpoint thread ended; the connection checkpoints after commits again' });
      void this.autoCheckpoint(DEFAULT_AUTOCHECKPOINT_PAGES); // an exit handler has no caller; it logs its failure
    });
    this.worker = worker;
    await this.autoCheckpoint(0);
  }

  /** Stops the thread after a last checkpoint; closing the connection then checkpoints the rest. */
  async onApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = once(worker, 'exit');
    worker.ref(); // the stop is awaited: the thread keeps the process up until it has exited
    worker.postMessage('stop');
    await exited;
    await this.autoCheckpoint(DEFAULT_AUTOCHECKPOINT_PAGES);
  }

  private async autoCheckpoint(pages: number): Promise<void> {
    if (!this.dataSource.isInitialized) return;
    await this.dataSource.query(`PRAGMA wal_autocheckpoint = ${pages}`).catch((error: Error) => {
      this.logger.warn({ msg: 'could not set wal_autocheckpoint', err: error.message });
    });
  }
}

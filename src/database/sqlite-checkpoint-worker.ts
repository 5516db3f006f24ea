/**
 * Worker thread that checkpoints the SQLite write-ahead log (see sqlite-checkpointer.ts). A
 * checkpoint copies committed pages into the database file and syncs it: tens of milliseconds per
 * megabyte-sized commit, which would stall the HTTP thread if its connection did it after each
 * commit. Its own connection checkpoints PASSIVE: it never waits for, nor blocks, a reader or writer.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

/** The part of better-sqlite3 (which ships no types) this thread uses. */
interface SqliteConnection {
  pragma(sql: string): unknown;
  close(): void;
}
type SqliteOpen = new (path: string, options: { fileMustExist: boolean }) => SqliteConnection;
const Database = createRequire(__filename)('better-sqlite3') as SqliteOpen;

export interface CheckpointWorkerSettings {
  path: string;
  intervalMs: number;
}

const { path, intervalMs } = workerData as CheckpointWorkerSettings;
const db = new Database(path, { fileMustExist: true });

function checkpoint(): void {
  db.pragma('wal_checkpoint(PASSIVE)');
}

const timer = setInterval(checkpoint, intervalMs);
parentPort?.postMessage('ready');
parentPort?.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  process.exit(0);
});

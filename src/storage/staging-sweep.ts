import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { artifactStagingDir } from './staging';

/**
 * Staging entries untouched for this long belong to no live request, so a sweep may remove them.
 * Several processes may share one DATA_DIR (APP_ROLE=api next to APP_ROLE=worker), and another
 * one may be staging right now, so a sweep cannot simply empty the folders. A live upload or job
 * spool writes as its body arrives, and no request body takes longer than Node's requestTimeout
 * (5 minutes by default), so ten minutes without a write means the process that wrote it is gone.
 */
export const STALE_STAGING_MS = 10 * 60 * 1000;

/** Removes the entries of `dir` last modified more than `maxAgeMs` ago; answers their names. */
export async function sweepStaleEntries(dir: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const entry = path.join(dir, name);
    try {
      const stats = await fs.promises.lstat(entry);
      if (now - stats.mtimeMs <= maxAgeMs) continue;
      await fs.promises.rm(entry, { recursive: true, force: true });
      removed.push(name);
    } catch (error) {
      // Gone meanwhile (its request finished): nothing to sweep.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

/**
 * At start, sweeps what a crash left in the staging folders: model uploads
 * (DATA_DIR/artifacts/.staging) and job spools (DATA_DIR/jobs-staging, see InstanceSpool).
 */
@Injectable()
export class StagingSweeper implements OnApplicationBootstrap {
  private readonly logger = new Logger(StagingSweeper.name);

  constructor(private readonly config: AppConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const dir of [
      artifactStagingDir(this.config.storage.dataDir),
      path.join(this.config.storage.dataDir, 'jobs-staging'),
    ]) {
      try {
        const removed = await sweepStaleEntries(dir, STALE_STAGING_MS);
        if (removed.length > 0) this.logger.log({ msg: 'removed stale staging files', dir, count: removed.length });
      } catch (error) {
        this.logger.warn({ msg: 'sweeping a staging folder failed', dir, err: (error as Error).message });
      }
    }
  }
}

import { statfs } from 'node:fs/promises';
import { InsufficientStorageError } from '../common/errors';

/** Bytes free to unprivileged writers on the file system holding `dir`. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/**
 * Refuses (507) before anything is written when storing `expectedBytes` more would leave less
 * than `minFreeBytes` free in `dir` (MIN_FREE_DISK_BYTES). `expectedBytes` is what the client
 * announced (Content-Length), or 0 when it did not say.
 */
export async function ensureFreeDisk(dir: string, expectedBytes: number, minFreeBytes: number): Promise<void> {
  const free = await freeDiskBytes(dir);
  if (free - expectedBytes < minFreeBytes) {
    throw new InsufficientStorageError(
      `The server's data folder is too full to accept this (${Math.floor(free / 1048576)} MiB free, ` +
        `MIN_FREE_DISK_BYTES keeps ${Math.floor(minFreeBytes / 1048576)} MiB); try again later or ask an operator`,
    );
  }
}

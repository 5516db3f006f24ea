import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { streamToFile } from './staging';

/** Bytes that left the store are not the bytes uploaded: the version must not load. */
export class ArtifactIntegrityError extends Error {
  constructor(readonly actualSha256: string) {
    super(`its file no longer matches its sha256 (the store holds ${actualSha256})`);
    this.name = 'ArtifactIntegrityError';
  }
}

const CACHED_FILE = /^([0-9a-f]{64})\.onnx$/;

/**
 * The files a remote store has downloaded, in `dir`, bounded by bytes: least recently used files
 * are deleted once the total passes `maxBytes`. A download streams into the staging folder,
 * hashed on the way; only bytes whose sha256 is the one asked for are renamed into the cache,
 * anything else is deleted and rejects with ArtifactIntegrityError. Files already in `dir` at
 * start were verified when they were written, so they are indexed, oldest first, not downloaded
 * again. Concurrent requests for one file share a download.
 *
 * A file the cache evicts may be needed by nothing loaded: ONNX Runtime reads the whole file when
 * a session is created, so eviction only costs a new download when that version loads again
 * (another inference process, a restart). The bound must therefore hold every model that loads at
 * once (config checks it holds at least MAX_MODEL_BYTES).
 */
export class ArtifactCache {
  private readonly logger = new Logger(ArtifactCache.name);
  private readonly files: LRUCache<string, number>;
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(
    private readonly dir: string,
    private readonly stagingDir: string,
    private readonly maxBytes: number,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.files = new LRUCache<string, number>({
      maxSize: maxBytes,
      sizeCalculation: (size) => Math.max(1, size),
      noDisposeOnSet: true,
      dispose: (_size, sha256) => {
        fs.promises.rm(this.pathOf(sha256), { force: true }).catch((error: Error) => {
          this.logger.warn({ msg: 'could not delete an evicted artifact', sha256, err: error.message });
        });
      },
    });
    this.indexExisting();
  }

  /** Bytes held now. */
  get sizeBytes(): number {
    return this.files.calculatedSize;
  }

  /** The local path of the file with this sha256, downloaded with `fetch` when it is not here. */
  async path(sha256: string, fetch: () => Promise<Readable>): Promise<string> {
    if (this.files.get(sha256) !== undefined) {
      const file = this.pathOf(sha256);
      // Another process sharing DATA_DIR may have evicted it: then download it again.
      if (
        await fs.promises.access(file).then(
          () => true,
          () => false,
        )
      )
        return file;
      this.files.delete(sha256);
    }
    let download = this.downloads.get(sha256);
    if (!download) {
      download = this.download(sha256, fetch).finally(() => this.downloads.delete(sha256));
      this.downloads.set(sha256, download);
    }
    return download;
  }

  /** Takes a verified file (a just-uploaded model's staging file) into the cache by renaming it. */
  async adopt(sha256: string, file: string, sizeBytes: number): Promise<void> {
    await fs.promises.rename(file, this.pathOf(sha256));
    this.files.set(sha256, sizeBytes);
  }

  /** Deletes the file of this sha256 (its bytes left the store). */
  async forget(sha256: string): Promise<void> {
    // delete() also disposes (an rm not awaited); this rm is the one the caller waits for.
    this.files.delete(sha256);
    await fs.promises.rm(this.pathOf(sha256), { force: true }).catch((error: Error) => {
      this.logger.warn({ msg: 'could not delete a cached artifact', sha256, err: error.message });
    });
  }

  private async download(sha256: string, fetch: () => Promise<Readable>): Promise<string> {
    const source = await fetch();
    const staged = await streamToFile(
      source,
      this.stagingDir,
      this.maxBytes,
      (max) => new Error(`the stored file is larger than ARTIFACT_CACHE_MAX_BYTES (${max} bytes)`),
    );
    if (staged.sha256 !== sha256) {
      await fs.promises.rm(staged.tempPath, { force: true });
      throw new ArtifactIntegrityError(staged.sha256);
    }
    await this.adopt(sha256, staged.tempPath, staged.sizeBytes);
    return this.pathOf(sha256);
  }

  private indexExisting(): void {
    const found: { sha256: string; size: number; mtimeMs: number }[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const match = CACHED_FILE.exec(name);
      if (!match) continue;
      const stats = fs.statSync(path.join(this.dir, name));
      found.push({ sha256: match[1], size: stats.size, mtimeMs: stats.mtimeMs });
    }
    for (const file of found.sort((a, b) => a.mtimeMs - b.mtimeMs)) this.files.set(file.sha256, file.size);
  }

  private pathOf(sha256: string): string {
    return path.join(this.dir, `${sha256}.onnx`);
  }
}

import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { PayloadTooLargeError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ArtifactStore, StagedArtifact } from './artifact-store';

const KEY_PATTERN = /^sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.onnx$/;

/** Counts and hashes bytes as they stream; fails as soon as the limit is passed. */
class HashingLimiter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new PayloadTooLargeError(`The model file exceeds MAX_MODEL_BYTES (${this.maxBytes} bytes)`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/** Where uploads are staged before they are committed (swept at start, see staging-sweep.ts). */
export function artifactStagingDir(dataDir: string): string {
  return path.join(dataDir, 'artifacts', '.staging');
}

/** Content-addressed files under DATA_DIR/artifacts; staging files under DATA_DIR/artifacts/.staging. */
@Injectable()
export class LocalArtifactStore extends ArtifactStore {
  private readonly root: string;
  private readonly staging: string;

  constructor(config: AppConfig) {
    super();
    this.root = path.join(config.storage.dataDir, 'artifacts');
    this.staging = artifactStagingDir(config.storage.dataDir);
    fs.mkdirSync(this.staging, { recursive: true });
  }

  async stage(source: Readable, maxBytes: number): Promise<StagedArtifact> {
    const tempPath = path.join(this.staging, `${randomUUID()}.part`);
    const limiter = new HashingLimiter(maxBytes);
    const out = fs.createWriteStream(tempPath, { flags: 'wx', mode: 0o600 });
    try {
      await pipeline(source, limiter, out);
    } catch (error) {
      // A stream destroyed before its file was open still creates the file: wait until it has
      // closed it, or the file would appear in staging after it was removed.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      await this.discard(tempPath);
      throw error;
    }
    return { tempPath, sizeBytes: limiter.bytes, sha256: limiter.hash.digest('hex') };
  }

  async commit(staged: StagedArtifact): Promise<string> {
    const key = `sha256/${staged.sha256.slice(0, 2)}/${staged.sha256}.onnx`;
    const target = this.pathOf(key);
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    if (await this.exists(key)) {
      await this.discard(staged);
    } else {
      await fs.promises.rename(staged.tempPath, target);
    }
    return key;
  }

  async discard(staged: StagedArtifact | string): Promise<void> {
    const tempPath = typeof staged === 'string' ? staged : staged.tempPath;
    if (path.dirname(tempPath) !== this.staging) return;
    await fs.promises.rm(tempPath, { force: true }).catch(() => undefined);
  }

  read(key: string): Promise<Buffer> {
    return fs.promises.readFile(this.pathOf(key));
  }

  localPath(key: string): Promise<string> {
    return new Promise((resolve) => resolve(this.pathOf(key))); // an invalid key rejects
  }

  openRead(key: string): Readable {
    return fs.createReadStream(this.pathOf(key));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.promises.access(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  async remove(key: string): Promise<void> {
    await fs.promises.rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`Invalid artifact key ${JSON.stringify(key)}`);
    return path.join(this.root, key);
  }
}

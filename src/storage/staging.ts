import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StagedArtifact } from './artifact-store';

/** Content keys as stored in the registry: `sha256/<first two hex>/<hex>.onnx`. */
const KEY_PATTERN = /^sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\.onnx$/;

/** The content key of bytes with this sha256 (the same for every store). */
export function contentKey(sha256: string): string {
  return `sha256/${sha256.slice(0, 2)}/${sha256}.onnx`;
}

/** The sha256 a content key names; throws on anything else, so no caller-made path reaches a store. */
export function sha256OfKey(key: string): string {
  const match = KEY_PATTERN.exec(key);
  if (!match) throw new Error(`Invalid artifact key ${JSON.stringify(key)}`);
  return match[1];
}

/** Where uploads are staged before they are committed (swept at start, see staging-sweep.ts). */
export function artifactStagingDir(dataDir: string): string {
  return path.join(dataDir, 'artifacts', '.staging');
}

/** Counts and hashes bytes as they stream; fails as soon as the limit is passed. */
export class HashingLimiter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly tooLarge: (maxBytes: number) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(this.tooLarge(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/**
 * Streams `source` into a new file of `dir`, hashing as it goes; past `maxBytes` it fails with
 * `tooLarge`. Any failure removes the file. Nothing is held in memory beyond stream buffers.
 */
export async function streamToFile(
  source: Readable,
  dir: string,
  maxBytes: number,
  tooLarge: (maxBytes: number) => Error,
): Promise<StagedArtifact> {
  const tempPath = path.join(dir, `${randomUUID()}.part`);
  const limiter = new HashingLimiter(maxBytes, tooLarge);
  const out = fs.createWriteStream(tempPath, { flags: 'wx', mode: 0o600 });
  try {
    await pipeline(source, limiter, out);
  } catch (error) {
    // A stream destroyed before its file was open still creates the file: wait until it has
    // closed it, or the file would appear in staging after it was removed.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    await fs.promises.rm(tempPath, { force: true }).catch(() => undefined);
    throw error;
  }
  return { tempPath, sizeBytes: limiter.bytes, sha256: limiter.hash.digest('hex') };
}

/** Deletes a staging file of `dir` (nothing outside it); never throws. */
export async function discardStaged(dir: string, staged: StagedArtifact | string): Promise<void> {
  const tempPath = typeof staged === 'string' ? staged : staged.tempPath;
  if (path.dirname(tempPath) !== dir) return;
  await fs.promises.rm(tempPath, { force: true }).catch(() => undefined);
}

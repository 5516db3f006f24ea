import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { UnavailableError } from '../common/errors';
import { AppConfig, S3Config } from '../config/app-config';
import { ArtifactCache } from './artifact-cache';
import { ArtifactStore, StagedArtifact } from './artifact-store';
import { modelTooLarge } from './local-artifact-store';
import { artifactStagingDir, contentKey, discardStaged, sha256OfKey, streamToFile } from './staging';

/**
 * Multipart part size and parts in flight: an upload holds about (queue + 1) parts in memory,
 * 24 MiB, whatever the model's size. S3 allows 10,000 parts, so 8 MiB parts cover 78 GiB.
 */
const PART_BYTES = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;
/** A readiness probe waits this long for the bucket before calling the store down. */
const PROBE_TIMEOUT_MS = 2_000;
/** Seconds a client refused while the store is unreachable is asked to wait. */
const RETRY_AFTER_SECONDS = 5;

/** A 404 from S3 (HeadObject answers NotFound without a body, GetObject NoSuchKey). */
function isNotFound(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.$metadata.httpStatusCode === 404 || error.name === 'NotFound' || error.name === 'NoSuchKey')
  );
}

/**
 * Model files in an S3-compatible bucket (AWS S3, MinIO, R2, s3rver) under `S3_PREFIX` + the
 * content key, so every replica finds the same bytes by the same key and identical bytes are
 * stored once. Uploads stage to a local file first, as with the local store: the bytes are hashed
 * and inspected before anything reaches the bucket, and the multipart upload streams from that
 * file (PART_BYTES at a time) on commit. The staged file then becomes this replica's cached copy.
 * Reads for ONNX Runtime go through ArtifactCache (DATA_DIR/artifact-cache, bounded by
 * ARTIFACT_CACHE_MAX_BYTES, verified by sha256). Credentials come from the AWS SDK's default
 * chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or the instance's role).
 */
@Injectable()
export class S3ArtifactStore extends ArtifactStore implements OnModuleDestroy {
  readonly kind = 's3';
  private readonly logger = new Logger(S3ArtifactStore.name);
  private readonly client: S3Client;
  private readonly s3: S3Config;
  private readonly staging: string;
  private readonly cache: ArtifactCache;

  constructor(config: AppConfig) {
    super();
    if (!config.storage.s3) throw new Error('S3ArtifactStore needs ARTIFACT_STORE=s3 and its variables');
    this.s3 = config.storage.s3;
    this.client = new S3Client({
      region: this.s3.region,
      endpoint: this.s3.endpoint,
      forcePathStyle: this.s3.forcePathStyle,
      maxAttempts: 3,
      // An unreachable endpoint fails in seconds, not at the OS's TCP timeout; a stalled
      // connection (no byte for 30 s) is given up.
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000 },
    });
    this.staging = artifactStagingDir(config.storage.dataDir);
    fs.mkdirSync(this.staging, { recursive: true });
    this.cache = new ArtifactCache(
      path.join(config.storage.dataDir, 'artifact-cache'),
      this.staging,
      config.storage.cacheMaxBytes,
    );
  }

  onModuleDestroy(): void {
    this.client.destroy();
  }

  stage(source: Readable, maxBytes: number): Promise<StagedArtifact> {
    return streamToFile(source, this.staging, maxBytes, modelTooLarge);
  }

  async commit(staged: StagedArtifact): Promise<string> {
    const key = contentKey(staged.sha256);
    // An object of another size under this key is not these bytes: a PUT cut short that a lax
    // server kept (s3rver does; S3 does not). The upload replaces it.
    if ((await this.storedSize(key)) !== staged.sizeBytes) {
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.s3.bucket,
          Key: this.objectKey(key),
          Body: fs.createReadStream(staged.tempPath),
          ContentType: 'application/octet-stream',
        },
        partSize: PART_BYTES,
        queueSize: PARTS_IN_FLIGHT,
        leavePartsOnError: false, // a failed multipart upload is aborted: no parts are left billed
      });
      try {
        await upload.done();
      } catch (error) {
        throw this.unavailable('upload', error);
      }
    }
    // The staged bytes are verified and about to be loaded: they are this replica's cached copy.
    await this.cache.adopt(staged.sha256, staged.tempPath, staged.sizeBytes);
    return key;
  }

  discard(staged: StagedArtifact | string): Promise<void> {
    return discardStaged(this.staging, staged);
  }

  async read(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.openRead(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async localPath(key: string): Promise<string> {
    return this.cache.path(sha256OfKey(key), () => this.openRead(key));
  }

  async openRead(key: string): Promise<Readable> {
    const Key = this.objectKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.s3.bucket, Key }));
      return response.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new Error('its file is missing from the artifact store', { cause: error });
      throw this.unavailable('read', error);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.storedSize(key)) !== undefined;
  }

  /** The byte size of the object under `key`, or undefined when there is none. */
  private async storedSize(key: string): Promise<number | undefined> {
    const Key = this.objectKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.s3.bucket, Key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.unavailable('head', error);
    }
  }

  async remove(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.s3.bucket, Key }));
    } catch (error) {
      throw this.unavailable('delete', error);
    } finally {
      await this.cache.forget(sha256OfKey(key));
    }
  }

  override async dropLocalCopy(sha256: string): Promise<void> {
    await this.cache.forget(sha256);
  }

  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.s3.bucket }), {
        abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
    } catch (error) {
      const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
      throw new Error(
        status === undefined
          ? `bucket '${this.s3.bucket}' unreachable`
          : `bucket '${this.s3.bucket}' answered HTTP ${status}`,
        { cause: error },
      );
    }
  }

  /** The object key of a content key; sha256OfKey refuses anything a caller could have made up. */
  private objectKey(key: string): string {
    sha256OfKey(key);
    return `${this.s3.prefix}${key}`;
  }

  /** What the client gets: 503 without the SDK's words; the log keeps them. */
  private unavailable(action: string, error: unknown): UnavailableError {
    this.logger.warn({ msg: 'artifact store request failed', action, err: (error as Error).message });
    return new UnavailableError('The artifact store (s3) is unreachable; try again later', RETRY_AFTER_SECONDS);
  }
}

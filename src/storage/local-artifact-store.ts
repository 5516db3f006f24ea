import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { PayloadTooLargeError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ArtifactStore, StagedArtifact } from './artifact-store';
import { artifactStagingDir, contentKey, discardStaged, sha256OfKey, streamToFile } from './staging';

/** The upload limit's error, shared by both stores. */
export const modelTooLarge = (maxBytes: number): Error =>
  new PayloadTooLargeError(`The model file exceeds MAX_MODEL_BYTES (${maxBytes} bytes)`);

/** Content-addressed files under DATA_DIR/artifacts; staging files under DATA_DIR/artifacts/.staging. */
@Injectable()
export class LocalArtifactStore extends ArtifactStore {
  readonly kind = 'local';
  private readonly root: string;
  private readonly staging: string;

  constructor(config: AppConfig) {
    super();
    this.root = path.join(config.storage.dataDir, 'artifacts');
    this.staging = artifactStagingDir(config.storage.dataDir);
    fs.mkdirSync(this.staging, { recursive: true });
  }

  stage(source: Readable, maxBytes: number): Promise<StagedArtifact> {
    return streamToFile(source, this.staging, maxBytes, modelTooLarge);
  }

  async commit(staged: StagedArtifact): Promise<string> {
    const key = contentKey(staged.sha256);
    const target = this.pathOf(key);
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    if (await this.exists(key)) {
      await this.discard(staged);
    } else {
      await fs.promises.rename(staged.tempPath, target);
    }
    return key;
  }

  discard(staged: StagedArtifact | string): Promise<void> {
    return discardStaged(this.staging, staged);
  }

  read(key: string): Promise<Buffer> {
    return fs.promises.readFile(this.pathOf(key));
  }

  localPath(key: string): Promise<string> {
    return new Promise((resolve) => resolve(this.pathOf(key))); // an invalid key rejects
  }

  async openRead(key: string): Promise<Readable> {
    const handle = await fs.promises.open(this.pathOf(key), 'r');
    return handle.createReadStream();
  }

  async exists(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    try {
      await fs.promises.access(file);
      return true;
    } catch {
      return false;
    }
  }

  async remove(key: string): Promise<void> {
    await fs.promises.rm(this.pathOf(key), { force: true });
  }

  async probe(): Promise<void> {
    await fs.promises.mkdir(this.root, { recursive: true });
    await fs.promises.access(this.root, fs.constants.W_OK);
  }

  private pathOf(key: string): string {
    sha256OfKey(key);
    return path.join(this.root, key);
  }
}

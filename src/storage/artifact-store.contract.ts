import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { PayloadTooLargeError } from '../common/errors';
import type { ArtifactStore } from './artifact-store';
import { artifactStagingDir, contentKey } from './staging';

/** A store under test, on a fresh DATA_DIR; `close` releases what it holds. */
export interface StoreUnderTest {
  store: ArtifactStore;
  dataDir: string;
  close(): Promise<void>;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Bytes in chunks, as an upload's body arrives. */
function chunked(bytes: Buffer, size = 1000): Readable {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.subarray(at, at + size));
  return Readable.from(parts);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * What every ArtifactStore does, whatever holds the bytes: local-artifact-store.spec.ts and
 * s3-artifact-store.spec.ts run it against their store.
 */
export function artifactStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    let t: StoreUnderTest;
    const staging = (): string[] => fs.readdirSync(artifactStagingDir(t.dataDir));
    const bytesA = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    const bytesB = Buffer.from('other model bytes');

    before(async () => {
      t = await open();
    });
    after(() => t.close());

    it('stages with size and sha256, commits under the content key, and reads the same bytes back every way', async () => {
      const staged = await t.store.stage(chunked(bytesA), 1_000_000);
      assert.deepEqual([staged.sizeBytes, staged.sha256], [bytesA.length, sha256(bytesA)]);
      assert.equal(path.dirname(staged.tempPath), artifactStagingDir(t.dataDir));
      const key = await t.store.commit(staged);
      assert.equal(key, contentKey(sha256(bytesA)));
      assert.deepEqual(staging(), [], 'the staging file is gone once committed');
      assert.equal(await t.store.exists(key), true);
      assert.deepEqual(await t.store.read(key), bytesA);
      assert.deepEqual(await collect(await t.store.openRead(key)), bytesA);
      assert.deepEqual(fs.readFileSync(await t.store.localPath(key)), bytesA);
    });

    it('stores identical bytes once: a second commit answers the same key and leaves no staging file', async () => {
      const first = await t.store.commit(await t.store.stage(chunked(bytesB), 1000));
      const second = await t.store.commit(await t.store.stage(chunked(bytesB), 1000));
      assert.equal(first, second);
      assert.deepEqual(staging(), []);
      assert.deepEqual(await t.store.read(second), bytesB);
    });

    it('refuses a file past the limit with 413 and keeps nothing of it', async () => {
      await assert.rejects(t.store.stage(chunked(bytesA), 100_000), PayloadTooLargeError);
      assert.deepEqual(staging(), []);
    });

    it('discards a staging file, and nothing outside its staging folder', async () => {
      const staged = await t.store.stage(chunked(bytesB), 1000);
      const outside = path.join(t.dataDir, 'keep.txt');
      fs.writeFileSync(outside, 'x');
      await t.store.discard(outside);
      await t.store.discard(staged);
      await t.store.discard(staged); // twice: never throws
      assert.deepEqual(staging(), []);
      assert.ok(fs.existsSync(outside));
    });

    it('removes bytes (a missing key is no error); a removed key no longer reads', async () => {
      const key = await t.store.commit(await t.store.stage(chunked(Buffer.from('to be removed')), 1000));
      await t.store.remove(key);
      await t.store.remove(key);
      assert.equal(await t.store.exists(key), false);
      await assert.rejects(t.store.openRead(key));
    });

    it('refuses keys it did not make, before touching anything', async () => {
      for (const key of ['../../etc/passwd', 'sha256/ab/not-hex.onnx', `sha256/ab/${'a'.repeat(64)}.onnx/..`]) {
        await assert.rejects(t.store.localPath(key), /Invalid artifact key/);
        await assert.rejects(t.store.openRead(key), /Invalid artifact key/);
        await assert.rejects(t.store.exists(key), /Invalid artifact key/);
        await assert.rejects(t.store.remove(key), /Invalid artifact key/);
      }
    });

    it('answers its probe while usable', async () => {
      await t.store.probe();
    });
  });
}

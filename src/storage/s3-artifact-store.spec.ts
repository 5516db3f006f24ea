import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startCuttingProxy, startS3Server, TestS3 } from '../../test/support/s3-server';
import { UnavailableError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { loadEnvironment } from '../config/environment';
import { ArtifactIntegrityError } from './artifact-cache';
import { artifactStoreContract } from './artifact-store.contract';
import { S3ArtifactStore } from './s3-artifact-store';
import { artifactStagingDir, contentKey } from './staging';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Deterministic, incompressible-looking bytes of a given size. */
function bytesOf(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

let s3: TestS3;
before(async () => {
  s3 = await startS3Server();
});
after(() => s3.stop());

/** An S3 store on a fresh bucket and DATA_DIR. */
async function openStore(env: Record<string, string> = {}, bucket?: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-s3-store-'));
  const name = bucket ?? (await s3.createBucket());
  const config = new AppConfig(loadEnvironment({ DATA_DIR: dataDir, ...s3.env(name), ...env }));
  const store = new S3ArtifactStore(config);
  return {
    store,
    dataDir,
    bucket: name,
    cacheDir: path.join(dataDir, 'artifact-cache'),
    async close() {
      store.onModuleDestroy();
      await fs.promises.rm(dataDir, { recursive: true, force: true });
    },
  };
}

artifactStoreContract('s3', () => openStore());

describe('S3ArtifactStore', () => {
  it('keeps objects under S3_PREFIX + the content key, and a 20 MiB file goes up in parts and back intact', async () => {
    const t = await openStore({ S3_PREFIX: 'models/prod/' });
    try {
      const bytes = bytesOf(20 * MiB, 7);
      const key = await t.store.commit(await t.store.stage(Readable.from([bytes]), 64 * MiB));
      assert.deepEqual(await s3.keys(t.bucket), [`models/prod/${contentKey(sha256(bytes))}`]);
      assert.equal(sha256(await s3.get(t.bucket, `models/prod/${key}`)), sha256(bytes));
      // The committed staging file became this replica's cached copy.
      assert.deepEqual(fs.readdirSync(t.cacheDir), [`${sha256(bytes)}.onnx`]);
    } finally {
      await t.close();
    }
  });

  it('downloads into the cache, verified, and evicts least recently used files past ARTIFACT_CACHE_MAX_BYTES', async () => {
    const t = await openStore({ ARTIFACT_CACHE_MAX_BYTES: String(MiB), MAX_MODEL_BYTES: String(MiB) });
    try {
      const files = [1, 2, 3].map((seed) => bytesOf(400 * 1024, seed));
      const keys = files.map((bytes) => contentKey(sha256(bytes)));
      for (const [i, bytes] of files.entries()) await s3.put(t.bucket, keys[i], bytes);
      const first = await t.store.localPath(keys[0]);
      assert.deepEqual(fs.readFileSync(first), files[0]);
      await t.store.localPath(keys[1]);
      await t.store.localPath(keys[0]); // now the most recently used
      await t.store.localPath(keys[2]); // 1.2 MiB > 1 MiB: the least recently used (file 2) goes
      const cached = () => fs.readdirSync(t.cacheDir).sort();
      await waitForFiles(cached, [0, 2].map((i) => `${sha256(files[i])}.onnx`).sort());
      assert.deepEqual(fs.readFileSync(await t.store.localPath(keys[1])), files[1], 'downloaded again when needed');
      assert.deepEqual(fs.readdirSync(artifactStagingDir(t.dataDir)), []);
    } finally {
      await t.close();
    }
  });

  it('refuses bytes that do not match their sha256 and keeps nothing of them', async () => {
    const t = await openStore();
    try {
      const claimed = bytesOf(1000, 11);
      const key = contentKey(sha256(claimed));
      await s3.put(t.bucket, key, bytesOf(1000, 12));
      await assert.rejects(t.store.localPath(key), ArtifactIntegrityError);
      assert.deepEqual(fs.readdirSync(t.cacheDir), []);
      assert.deepEqual(fs.readdirSync(artifactStagingDir(t.dataDir)), []);
    } finally {
      await t.close();
    }
  });

  it('replaces an object of the wrong size under the key (a PUT cut short that a lax server kept)', async () => {
    const t = await openStore();
    try {
      const bytes = bytesOf(3000, 41);
      const key = contentKey(sha256(bytes));
      await s3.put(t.bucket, key, bytes.subarray(0, 1000));
      assert.equal(await t.store.commit(await t.store.stage(Readable.from([bytes]), 10_000)), key);
      assert.deepEqual(await s3.get(t.bucket, key), bytes);
    } finally {
      await t.close();
    }
  });

  it('drops its local copy of a file another replica removed, and downloads nothing it no longer has', async () => {
    const writer = await openStore();
    const bytes = bytesOf(4000, 23);
    const key = await writer.store.commit(await writer.store.stage(Readable.from([bytes]), 10_000));
    const reader = await openStore({}, writer.bucket);
    try {
      const copy = await reader.store.localPath(key);
      assert.deepEqual(fs.readFileSync(copy), bytes);
      await writer.store.remove(key);
      await reader.store.dropLocalCopy(sha256(bytes));
      assert.equal(fs.existsSync(copy), false, 'the copy is deleted when dropLocalCopy resolves');
      await assert.rejects(reader.store.localPath(key), 'the bytes are gone from the store too');
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('indexes the files a previous start downloaded instead of downloading them again', async () => {
    const first = await openStore();
    const bytes = bytesOf(5000, 21);
    const key = await first.store.commit(await first.store.stage(Readable.from([bytes]), 10_000));
    const cacheDir = first.cacheDir;
    first.store.onModuleDestroy();
    // Same DATA_DIR, and the object gone from the bucket: only the cache can answer.
    await s3.client.send(
      new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({ Bucket: first.bucket, Key: key }),
    );
    const second = new S3ArtifactStore(
      new AppConfig(loadEnvironment({ DATA_DIR: first.dataDir, ...s3.env(first.bucket) })),
    );
    try {
      assert.equal(await second.localPath(key), path.join(cacheDir, `${sha256(bytes)}.onnx`));
    } finally {
      second.onModuleDestroy();
      await first.close();
    }
  });

  it('unreachable: the probe names the bucket, reads and uploads answer 503 and leave no object', async () => {
    const proxy = await startCuttingProxy(s3.port);
    const bucket = await s3.createBucket();
    const t = await openStore({}, bucket);
    const cut = await openStore({ S3_ENDPOINT: proxy.endpoint }, bucket);
    try {
      // Over one part (8 MiB): a multipart upload, which S3 and s3rver alike keep nothing of
      // until it completes.
      const bytes = bytesOf(10 * MiB, 31);
      const staged = await cut.store.stage(Readable.from([bytes]), 16 * MiB);
      // The HEAD that checks for the object passes; the parts are cut in their middle.
      proxy.cutAfter(1 * MiB);
      await assert.rejects(cut.store.commit(staged), UnavailableError);
      assert.ok(proxy.cut);
      assert.deepEqual(await s3.keys(bucket), [], 'no object');
      assert.ok(fs.existsSync(staged.tempPath), 'the staging file stays for the caller to discard');
      await cut.store.discard(staged);
      assert.deepEqual(fs.readdirSync(artifactStagingDir(cut.dataDir)), []);
      await assert.rejects(cut.store.probe(), new RegExp(`bucket '${bucket}' unreachable`));
      await assert.rejects(cut.store.exists(contentKey(sha256(bytes))), UnavailableError);
      await assert.rejects(cut.store.localPath(contentKey(sha256(bytes))), UnavailableError);
      proxy.heal();
      await cut.store.probe();
      await t.store.probe();
    } finally {
      await cut.close();
      await t.close();
      await proxy.close();
    }
  });
});

async function waitForFiles(list: () => string[], expected: string[]): Promise<void> {
  const { waitFor } = await import('../../test/support/wait-for');
  await waitFor(() => JSON.stringify(list()) === JSON.stringify(expected), {
    what: `cache files ${expected.join(', ')}`,
    describe: () => list().join(', '),
  });
}

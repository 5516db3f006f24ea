import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { StoredInstance } from './instance-codec';
import { InstanceSpool } from './instance-spool';

function stagingDir(t: TestContext): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-spool-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return path.join(root, 'jobs-staging');
}

/** Instance `i`: a header with multi-byte text and `bytes` bytes of data that say which it is. */
function instance(i: number, bytes = 16): StoredInstance {
  return {
    header: JSON.stringify({ i, note: 'ünïcödé ✓' }),
    data: Buffer.from(Array.from({ length: bytes }, (_, k) => (i * 31 + k) % 256)),
  };
}

async function readAll(spool: InstanceSpool): Promise<StoredInstance[]> {
  const read: StoredInstance[] = [];
  for await (const item of spool.instances()) read.push({ header: item.header, data: Buffer.from(item.data) });
  return read;
}

describe('InstanceSpool', () => {
  it('keeps instances in memory below its limit: nothing is written, and they come back in order', async (t) => {
    const dir = stagingDir(t);
    const spool = new InstanceSpool(dir, 10_000);
    const items = Array.from({ length: 20 }, (_, i) => instance(i));
    for (const item of items) await spool.append(item);
    assert.equal(spool.count, 20);
    assert.equal(fs.existsSync(dir), false, 'no staging folder');
    assert.deepEqual(await readAll(spool), items);
    await spool.dispose();
  });

  it('past its limit moves everything to one file, owner-only, and reads back the same bytes in order', async (t) => {
    const dir = stagingDir(t);
    const spool = new InstanceSpool(dir, 1_000);
    const items = Array.from({ length: 50 }, (_, i) => instance(i, i % 7 === 0 ? 0 : 40));
    for (const item of items) await spool.append(item);
    assert.deepEqual(await readAll(spool), items);
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0], /\.spool$/);
    assert.equal(fs.statSync(path.join(dir, files[0])).mode & 0o777, 0o600);
    await spool.dispose();
    assert.deepEqual(fs.readdirSync(dir), [], 'dispose removes the file');
  });

  it('waits for the file to drain when appends outpace the disk', async (t) => {
    const spool = new InstanceSpool(stagingDir(t), 0);
    // 64 KiB records pass the write stream's 16 KiB high-water mark at every append.
    const items = Array.from({ length: 64 }, (_, i) => instance(i, 64 * 1024));
    for (const item of items) await spool.append(item);
    const read = await readAll(spool);
    assert.equal(read.length, items.length);
    read.forEach((item, i) => assert.ok(item.data.equals(items[i].data), `instance ${i}`));
    await spool.dispose();
  });

  it('dispose right after spilling leaves no file, even before the file was open', async (t) => {
    const dir = stagingDir(t);
    const spool = new InstanceSpool(dir, 0);
    await spool.append(instance(1));
    await spool.dispose();
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('dispose without a file is a no-op, and disposing twice is harmless', async (t) => {
    const spool = new InstanceSpool(stagingDir(t), 0);
    await spool.dispose();
    await spool.append(instance(1));
    await spool.dispose();
    await spool.dispose();
  });
});

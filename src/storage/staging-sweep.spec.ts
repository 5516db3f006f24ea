import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { STALE_STAGING_MS, sweepStaleEntries } from './staging-sweep';

describe('sweepStaleEntries', () => {
  let dir: string;
  const now = Date.now();
  /** Writes a staging entry last modified `ageMs` ago. */
  const entry = (name: string, ageMs: number, directory = false): void => {
    const target = path.join(dir, name);
    if (directory) {
      fs.mkdirSync(target);
      fs.writeFileSync(path.join(target, 'inner.part'), 'x');
    } else {
      fs.writeFileSync(target, 'partial upload');
    }
    const at = new Date(now - ageMs);
    fs.utimesSync(target, at, at);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-sweep-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('removes entries untouched for longer than the age, keeps those another process may still be writing', async () => {
    entry('crashed.part', STALE_STAGING_MS + 60_000);
    entry('crashed-folder', 24 * 3600_000, true);
    entry('live.part', 1000);
    entry('just-inside.part', STALE_STAGING_MS - 1000);
    const removed = await sweepStaleEntries(dir, STALE_STAGING_MS, now);
    assert.deepEqual(removed.sort(), ['crashed-folder', 'crashed.part']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['just-inside.part', 'live.part']);
  });

  it('answers nothing for a folder that does not exist yet', async () => {
    assert.deepEqual(await sweepStaleEntries(path.join(dir, 'missing'), STALE_STAGING_MS, now), []);
  });
});

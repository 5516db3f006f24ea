/**
 * npm run bench:artifacts: peak resident memory while a large model file goes into the artifact
 * store and back out, local store beside s3 store (s3rver in a child process), in this one run.
 *
 * Each side runs in a fresh child process (peak RSS only grows within a process): it stages a
 * generated file of BENCH_ARTIFACT_MIB MiB (default 256) from a stream, as an upload's body
 * arrives, commits it, then (s3 only) downloads it into an empty cache as a replica's first load
 * does. The child reports its RSS before the work and its peak (`process.resourceUsage().maxRSS`)
 * after each step. The claim under test: the s3 store's peak grows by a bounded amount (its
 * multipart buffers, about 3 x 8 MiB, and the garbage they leave between collections), not by
 * the file's size: compare BENCH_ARTIFACT_MIB=256 with 512.
 *
 * Called by run.ts; `node dist/bench/artifacts.js` runs it alone.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { AppConfig } from '../src/config/app-config';
import { loadEnvironment } from '../src/config/environment';
import type { ArtifactStore } from '../src/storage/artifact-store';
import { LocalArtifactStore } from '../src/storage/local-artifact-store';
import { S3ArtifactStore } from '../src/storage/s3-artifact-store';
import { startS3Server } from '../test/support/s3-server';
import { fmt, row } from './targets';

const FILE_MIB = Number(process.env.BENCH_ARTIFACT_MIB ?? 256);
const MiB = 1024 * 1024;

interface SideReport {
  side: string;
  rssBeforeMiB: number;
  peakAfterUploadMiB: number;
  uploadMs: number;
  peakAfterDownloadMiB?: number;
  downloadMs?: number;
}

/** FILE_MIB MiB in 64 KiB chunks, every chunk different (so nothing could be deduplicated). */
function generated(): Readable {
  const chunk = Buffer.alloc(64 * 1024);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= FILE_MIB * MiB) {
        this.push(null);
        return;
      }
      chunk.writeUInt32LE(sent / chunk.length, 0);
      sent += chunk.length;
      this.push(Buffer.from(chunk));
    },
  });
}

const peakMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** In the child: one side's work, reported as one JSON line. */
async function runSide(side: 'local' | 's3'): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-artifacts-'));
  const env = { DATA_DIR: dataDir, MAX_MODEL_BYTES: String((FILE_MIB + 1) * MiB), ARTIFACT_STORE: side };
  const make = (dir: string): ArtifactStore => {
    const config = new AppConfig(loadEnvironment({ ...process.env, ...env, DATA_DIR: dir }));
    return side === 's3' ? new S3ArtifactStore(config) : new LocalArtifactStore(config);
  };
  const store = make(dataDir);
  const report: SideReport = {
    side,
    rssBeforeMiB: process.memoryUsage().rss / MiB,
    peakAfterUploadMiB: 0,
    uploadMs: 0,
  };
  let started = performance.now();
  const key = await store.commit(await store.stage(generated(), (FILE_MIB + 1) * MiB));
  report.uploadMs = performance.now() - started;
  report.peakAfterUploadMiB = peakMiB();
  if (side === 's3') {
    const replicaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-bench-replica-'));
    const replica = make(replicaDir);
    started = performance.now();
    await replica.localPath(key);
    report.downloadMs = performance.now() - started;
    report.peakAfterDownloadMiB = peakMiB();
    (replica as S3ArtifactStore).onModuleDestroy();
    fs.rmSync(replicaDir, { recursive: true, force: true });
    (store as S3ArtifactStore).onModuleDestroy();
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  console.log(JSON.stringify(report));
}

function child(side: string, env: Record<string, string>): Promise<SideReport> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [__filename, '--side', side], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.once('error', reject);
    proc.once('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`bench side ${side} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as SideReport);
    });
  });
}

export async function benchArtifacts(): Promise<string[]> {
  const s3 = await startS3Server();
  try {
    const bucket = await s3.createBucket();
    const s3Env = {
      ...s3.env(bucket),
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? '',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    };
    const reports = [await child('local', {}), await child('s3', s3Env)];
    const lines = [
      `### Artifact store: peak RSS storing a ${FILE_MIB} MiB model (\`npm run bench:artifacts\`, one child process per side)`,
      '',
      '| store | RSS before (MiB) | peak after stage + commit (MiB) | stage + commit (ms) | peak after download to an empty cache (MiB) | download (ms) |',
      '|---|---:|---:|---:|---:|---:|',
    ];
    for (const r of reports) {
      lines.push(
        row([
          r.side,
          fmt(r.rssBeforeMiB, 0),
          fmt(r.peakAfterUploadMiB, 0),
          fmt(r.uploadMs, 0),
          r.peakAfterDownloadMiB === undefined ? '-' : fmt(r.peakAfterDownloadMiB, 0),
          r.downloadMs === undefined ? '-' : fmt(r.downloadMs, 0),
        ]),
      );
    }
    return lines;
  } finally {
    await s3.stop();
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--side');
  const side = at > 0 ? process.argv[at + 1] : undefined;
  const done = side ? runSide(side as 'local' | 's3') : benchArtifacts().then((lines) => console.log(lines.join('\n')));
  done.catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

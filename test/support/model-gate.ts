/**
 * A model that "runs" until the test says so: the next load of one stored model file waits,
 * inside an inference worker, until the test releases it. The file is swapped for a named pipe
 * (FIFO); the worker's read of it blocks (asynchronously, on the worker's own event loop) until
 * the test writes the model's bytes into the pipe. A prediction of that model is therefore in
 * flight in a worker for exactly as long as the test wants, on any machine, with no seam in the
 * engine. Linux and macOS (mkfifo).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InferenceService } from '../../src/inference/inference.service';
import { listFiles, TestApp } from './test-app';

/** The bytes go into the pipe in one write that must not block: well under its 64 KiB. */
const MAX_GATED_BYTES = 16 * 1024;

export interface ModelGate {
  /** Lets the held load (and any later one) read the model. Safe to call more than once. */
  release(): void;
}

/**
 * Holds the next load of the model whose bytes have this sha256 until `release()`. Sessions of
 * it are unloaded first, so the next request that needs the model reads the file.
 */
export async function holdModelLoads(t: TestApp, sha256: string): Promise<ModelGate> {
  await t.app.get(InferenceService).unload(sha256);
  const artifacts = path.join(t.dataDir, 'artifacts');
  const relative = listFiles(artifacts).find((file) => path.basename(file) === `${sha256}.onnx`);
  assert.ok(relative, `no stored file for ${sha256}`);
  const file = path.join(artifacts, relative);
  const bytes = fs.readFileSync(file);
  assert.ok(bytes.length <= MAX_GATED_BYTES, `a gated model must be small (${bytes.length} bytes)`);
  fs.rmSync(file);
  execFileSync('mkfifo', ['-m', '600', file]);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      // Opening a FIFO read-write never blocks (Linux), and lets a reader waiting in open() go on.
      const pipe = fs.openSync(file, fs.constants.O_RDWR);
      // Later loads (a replacement worker, say) read a plain file again.
      fs.writeFileSync(`${file}.restore`, bytes);
      fs.renameSync(`${file}.restore`, file);
      fs.writeSync(pipe, bytes);
      // The reader sees the end of the file once the last writer (this one) closes.
      fs.closeSync(pipe);
    },
  };
}

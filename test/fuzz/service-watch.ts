/** What the service does besides answering: the errors it logs and the files it writes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';

/** Error log lines of the service, by request id, so a 5xx names its cause. */
export class ErrorLog extends Writable {
  readonly byRequest = new Map<string, string>();

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as { requestId?: string; msg?: string; err?: { message?: string } };
        const text = [entry.msg, entry.err?.message].filter(Boolean).join(': ');
        // The error itself wins over the access-log line that follows it.
        if (entry.requestId && (entry.err || !this.byRequest.has(entry.requestId))) {
          this.byRequest.set(entry.requestId, text);
          // Only the recent ones matter (a finding is recorded as its answer arrives): memory stays flat.
          if (this.byRequest.size > 1000) this.byRequest.delete(this.byRequest.keys().next().value as string);
        }
      } catch {
        // not a JSON log line: nothing to index
      }
    }
    callback();
  }
}

/**
 * onnxruntime-node 1.30's native library writes `.ses` and an empty `mat-debug-<pid>.log` into
 * TMPDIR when it creates a session, whatever the input. Not something a request can steer.
 */
function isOnnxRuntimeFile(name: string): boolean {
  return name === '.ses' || /^mat-debug-\d+\.log$/.test(name);
}

/** Files (path, size, mtime) below `dir`, skipping the given top-level names. */
function snapshot(dir: string, skip: string[]): Map<string, string> {
  const result = new Map<string, string>();
  const walk = (current: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const rel = path.relative(dir, full);
      if (skip.some((s) => rel === s || rel.startsWith(`${s}${path.sep}`))) continue;
      if (entry.isDirectory()) walk(full);
      else {
        const stat = fs.lstatSync(full);
        result.set(rel, `${stat.size}:${stat.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return result;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [file, stamp] of after) if (before.get(file) !== stamp) changed.push(file);
  for (const file of before.keys()) if (!after.has(file)) changed.push(`${file} (removed)`);
  return changed;
}

/**
 * Where a fuzz run happens: the process works in an empty folder with its own empty TMPDIR, so a
 * relative path or os.tmpdir() in the service lands somewhere that must stay empty; the repository
 * is compared before and after; uncaught errors are collected instead of ending the process.
 */
export class Sandbox {
  private readonly crashes: string[] = [];
  private readonly onCrash = (error: unknown) =>
    this.crashes.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  private readonly repo = path.resolve(__dirname, '../../..');
  /** Written by others while a fuzz run goes on: the browser specs' screenshots run in parallel. */
  private readonly repoSkip = [
    'node_modules',
    'dist',
    '.git',
    path.join('test', '.generated'),
    path.join('.tmp', 'screenshots'),
  ];
  private readonly repoBefore = snapshot(this.repo, this.repoSkip);
  private readonly previousCwd = process.cwd();
  private readonly previousTmp = process.env.TMPDIR;

  private constructor(
    private readonly root: string,
    private readonly cwd: string,
    private readonly tmp: string,
  ) {}

  static enter(): Sandbox {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-fuzz-'));
    const sandbox = new Sandbox(root, path.join(root, 'cwd'), path.join(root, 'tmp'));
    fs.mkdirSync(sandbox.cwd);
    fs.mkdirSync(sandbox.tmp);
    process.on('uncaughtException', sandbox.onCrash);
    process.on('unhandledRejection', sandbox.onCrash);
    process.chdir(sandbox.cwd);
    process.env.TMPDIR = sandbox.tmp;
    return sandbox;
  }

  /** Files written outside `dataDir`, and uncaught errors, since `enter`. */
  problems(dataDir: string): string[] {
    const problems: string[] = [];
    const strayCwd = fs.readdirSync(this.cwd);
    if (strayCwd.length > 0)
      problems.push(`files written to the working directory: ${strayCwd.slice(0, 10).join(', ')}`);
    const strayTmp = fs
      .readdirSync(this.tmp)
      .filter((name) => path.join(this.tmp, name) !== dataDir && !isOnnxRuntimeFile(name));
    if (strayTmp.length > 0) problems.push(`files written to TMPDIR: ${strayTmp.slice(0, 10).join(', ')}`);
    const repoChanged = changes(this.repoBefore, snapshot(this.repo, this.repoSkip));
    if (repoChanged.length > 0)
      problems.push(`files changed in the repository: ${repoChanged.slice(0, 10).join(', ')}`);
    problems.push(...this.crashes.map((c) => `uncaught in the process: ${c.slice(0, 500)}`));
    return problems;
  }

  leave(): void {
    process.chdir(this.previousCwd);
    if (this.previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = this.previousTmp;
    process.off('uncaughtException', this.onCrash);
    process.off('unhandledRejection', this.onCrash);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { JobGate } from './job-gate';
import { TEST_ADMIN_KEY } from './credentials';
import { waitFor } from './wait-for';

export const MAIN_JS = path.resolve(__dirname, '../../src/main.js');
const JOB_GATE_PRELOAD = path.resolve(__dirname, 'job-gate-preload.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  dataDir: string;
  stdout(): string;
  stderr(): string;
  /** Resolves once the process has exited and its output has been read to the end. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Wait until /health/ready answers 200 (default true). */
  waitReady?: boolean;
  /** Drives the process's JobHooks through this gate (preloads job-gate-preload.js). */
  jobGate?: JobGate;
  /**
   * Start on this DATA_DIR (a previous service's `dataDir`, to restart on the same store) instead
   * of a fresh one; `stop()` then leaves it in place for its owner to remove.
   */
  dataDir?: string;
  /** Listen on this port (a previous service's, to restart behind the same address) instead of a free one. */
  port?: number;
}

/**
 * Starts the built service (dist/src/main.js) as its own process, the way users run it.
 * `options` may be a boolean: whether to wait until it is ready.
 */
export async function spawnService(
  env: Record<string, string>,
  given: SpawnOptions | boolean = {},
): Promise<ServiceProcess> {
  const options: SpawnOptions = typeof given === 'boolean' ? { waitReady: given } : given;
  const port = options.port ?? (await freePort());
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-proc-'));
  let out = '';
  let err = '';
  const preload = options.jobGate ? ['--require', JOB_GATE_PRELOAD] : [];
  const coverage = process.env.NODE_V8_COVERAGE;
  const child = spawn(process.execPath, [...preload, MAIN_JS], {
    env: {
      PATH: process.env.PATH ?? '',
      // npm run coverage: the service and its inference processes report their coverage too.
      ...(coverage ? { NODE_V8_COVERAGE: coverage } : {}),
      NODE_ENV: 'production',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      PORT: String(port),
      HOST: '127.0.0.1',
      // Not the default 8001: several services run at once.
      GRPC_PORT: '0',
      DATA_DIR: dataDir,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ...options.jobGate?.env(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  // 'close', not 'exit': by then stdout and stderr are read to the end, so log assertions see every line.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    child,
    baseUrl,
    dataDir,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      // A killed process writes no coverage: under npm run coverage it is asked to shut down first
      // (SIGTERM; SIGKILL if it has not exited within 10 s).
      if (coverage && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
        clearTimeout(timer);
      }
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (options.waitReady ?? true) {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`service exited early: ${err || out}`);
        try {
          return (await fetch(`${baseUrl}/health/ready`)).status === 200;
        } catch {
          return false; // not listening yet
        }
      },
      { what: 'the service to answer /health/ready with 200', timeoutMs: 60_000, intervalMs: 50 },
    ).catch(async (error: Error) => {
      await service.stop();
      throw new Error(`${error.message}: ${err || out}`, { cause: error });
    });
  }
  return service;
}

import { ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { InvalidInputError, PayloadTooLargeError, UnavailableError, UnprocessableError } from '../common/errors';
import { InferenceFailedError, OutputTooLargeError } from './engine-errors';
import {
  SETTINGS_ENV,
  type EngineFailure,
  type EngineRequest,
  type EngineResponse,
  type ProcessSettings,
} from './worker/protocol';
import { encodeFrame, FrameReader } from './worker/frames';

const PROCESS_SCRIPT = path.join(__dirname, 'worker', 'inference-process.js');

/** How often each process' resident memory is read (Linux /proc). */
export const RSS_POLL_MS = 100;
/** A process that dies sooner than this after starting is restarted after a pause, not at once. */
const CRASH_LOOP_MS = 2_000;
const CRASH_LOOP_PAUSE_MS = 1_000;

/** Why an inference process was replaced. */
export type RestartReason = 'crash' | 'timeout' | 'memory' | 'recycle';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type PoolRequest = DistributiveOmit<Exclude<EngineRequest, { type: 'exit' }>, 'id'>;

/**
 * The inference processes as the scheduler sees them: a fixed number of slots, each ready or
 * starting, that take one message at a time. A fake of it drives the scheduler in unit tests.
 */
export interface InferencePort {
  readonly size: number;
  isReady(index: number): boolean;
  /** Sends one request; rejects with UnavailableError (503) if the process ends first. */
  send<T>(index: number, request: PoolRequest): Promise<T>;
  /** Kills the process at once (SIGKILL); resolves once it has exited. */
  kill(index: number, reason: RestartReason): Promise<void>;
  /** Called with a slot's index whenever a process there becomes ready (at start and after a restart). */
  onReady(listener: (index: number) => void): void;
}

/**
 * The pool as InferenceService drives it: the port, plus starting, stopping, restarts and what
 * status() reports. ProcessPool in the service; a fake in unit specs (inference.service.spec.ts).
 */
export abstract class InferencePool
  extends EventEmitter<{ ready: [number]; restart: [RestartReason] }>
  implements InferencePort
{
  abstract readonly size: number;
  abstract isReady(index: number): boolean;
  abstract send<T>(index: number, request: PoolRequest): Promise<T>;
  abstract kill(index: number, reason: RestartReason): Promise<void>;
  abstract onReady(listener: (index: number) => void): void;
  /** Starts every process. */
  abstract start(): void;
  /** Resolves true once every process is ready, or false after `timeoutMs`. */
  abstract whenReady(timeoutMs: number): Promise<boolean>;
  /** Ends one process after its current request; it is replaced. */
  abstract recycle(index: number): Promise<void>;
  /** Lets running requests finish (up to `graceMs`), then ends every process. */
  abstract stop(graceMs?: number): Promise<void>;
  abstract get alive(): number;
  abstract get restartCount(): number;
  /** Requests sent to a process and not answered yet. */
  abstract get inFlight(): number;
  abstract describe(): { index: number; pid?: number; rssBytes?: number }[];
}

export function toError(failure: EngineFailure): Error {
  if (failure.kind === 'unprocessable') return new UnprocessableError(failure.message);
  if (failure.kind === 'invalid') return new InvalidInputError(failure.message, failure.details);
  if (failure.kind === 'inference_failed') return new InferenceFailedError(failure.message, failure.internal ?? '');
  if (failure.kind === 'output_too_large') return new OutputTooLargeError(failure.message, failure.details);
  if (failure.kind === 'too_large') return new PayloadTooLargeError(failure.message);
  if (failure.kind === 'unavailable') return new UnavailableError(failure.message, 1);
  return new Error(`inference process error: ${failure.message}`);
}

const EXIT_MESSAGES: Record<RestartReason, string> = {
  crash: 'The inference process stopped while running this request; retry it',
  timeout: 'The inference process was stopped: a request it was running passed its deadline; retry it',
  memory: 'The inference process passed its memory limit (INFERENCE_PROCESS_MAX_RSS_BYTES) and was restarted',
  recycle: 'The inference process was restarted; retry the request',
};

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

class ManagedProcess {
  readonly pending = new Map<number, Pending>();
  ready = false;
  rssBytes?: number;
  /** Set when this side ends the process, so its exit is not taken for a crash. */
  endedBy?: RestartReason | 'stop';
  readonly exited: Promise<void>;
  readonly startedAt = performance.now();

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
    readonly channel: Socket,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get open(): boolean {
    return this.channel.writable && !this.channel.destroyed;
  }

  write(message: EngineRequest, done?: (error?: Error | null) => void): void {
    const pieces = encodeFrame(message);
    this.channel.cork();
    for (let i = 0; i < pieces.length - 1; i++) this.channel.write(pieces[i]);
    this.channel.write(pieces[pieces.length - 1], done);
    this.channel.uncork();
  }
}

/**
 * ONNX Runtime lives in child processes, never in the HTTP process: a model that hangs is ended
 * by killing its process (a thread cannot be stopped inside run()), one that allocates without
 * bound is killed past INFERENCE_PROCESS_MAX_RSS_BYTES, and a native crash takes down only its
 * process. Every ended process is replaced; the requests it held fail with 503.
 *
 * Messages go as binary frames over a pipe on fd 3 (worker/frames.ts): bench/ipc.ts measured
 * them against Node's IPC channel (JSON and `advanced` serialization) and they were the fastest.
 */
export class ProcessPool extends InferencePool {
  private readonly logger = new Logger('InferenceProcesses');
  private readonly processes: (ManagedProcess | undefined)[] = [];
  private nextId = 1;
  private stopping = false;
  private restarts = 0;
  private poller?: NodeJS.Timeout;

  constructor(
    readonly size: number,
    private readonly settings: ProcessSettings,
    /** INFERENCE_PROCESS_MAX_RSS_BYTES; 0 turns the limit off. */
    private readonly maxRssBytes: number,
  ) {
    super();
  }

  start(): void {
    for (let i = 0; i < this.size; i++) this.spawn(i);
    // A timer has no caller; pollMemory never rejects (an unreadable /proc entry is skipped).
    this.poller = setInterval(() => void this.pollMemory(), RSS_POLL_MS).unref();
  }

  /** Resolves true once every process is ready, or false after `timeoutMs`. */
  async whenReady(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.alive < this.size) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.on('ready', done);
      });
    }
    return true;
  }

  onReady(listener: (index: number) => void): void {
    this.on('ready', listener);
  }

  isReady(index: number): boolean {
    return this.processes[index]?.ready === true;
  }

  get alive(): number {
    return this.processes.filter((p) => p?.ready).length;
  }

  get restartCount(): number {
    return this.restarts;
  }

  get inFlight(): number {
    return this.processes.reduce((n, p) => n + (p?.pending.size ?? 0), 0);
  }

  describe(): { index: number; pid?: number; rssBytes?: number }[] {
    return Array.from({ length: this.size }, (_, index) => {
      const managed = this.processes[index];
      return { index, pid: managed?.child.pid, rssBytes: managed?.rssBytes };
    });
  }

  send<T>(index: number, request: PoolRequest): Promise<T> {
    const managed = this.processes[index];
    if (!managed?.ready || !managed.open) {
      return Promise.reject(new UnavailableError('No inference process is running', 1));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      managed.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      managed.write({ ...request, id } as EngineRequest, (error) => {
        if (!error) return;
        managed.pending.delete(id);
        reject(new UnavailableError('The inference process could not take the request; retry it', 1));
      });
    });
  }

  async kill(index: number, reason: RestartReason): Promise<void> {
    const managed = this.processes[index];
    if (!managed) return;
    managed.endedBy ??= reason;
    managed.child.kill('SIGKILL');
    await managed.exited;
  }

  /** Ends one process after its current request, as a crash between requests would; it is replaced. */
  async recycle(index: number): Promise<void> {
    const managed = this.processes[index];
    if (!managed) return;
    managed.endedBy ??= 'recycle';
    managed.ready = false;
    if (managed.open) managed.write({ id: 0, type: 'exit' });
    await managed.exited;
  }

  /** Lets running requests finish (up to `graceMs`), then ends every process. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    clearInterval(this.poller);
    await Promise.all(
      this.processes.map(async (managed) => {
        if (!managed) return;
        managed.endedBy = 'stop';
        if (managed.open) managed.write({ id: 0, type: 'exit' });
        const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
        if ((await Promise.race([managed.exited, timer])) === 'timeout') managed.child.kill('SIGKILL');
        await managed.exited;
      }),
    );
  }

  private spawn(index: number): void {
    // Not the service's flags (a test's preloads, an inspector port) and not its environment: an
    // inference process needs no database or Redis credentials. fd 3 carries the frames.
    // NODE_V8_COVERAGE (npm run coverage) passes through, so the processes report their coverage.
    const coverage = process.env.NODE_V8_COVERAGE;
    const child = spawn(process.execPath, [PROCESS_SCRIPT], {
      env: {
        PATH: process.env.PATH ?? '',
        [SETTINGS_ENV]: JSON.stringify(this.settings),
        ...(coverage ? { NODE_V8_COVERAGE: coverage } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    });
    const channel = child.stdio[3] as Socket;
    const managed = new ManagedProcess(index, child, channel);
    this.processes[index] = managed;
    const reader = new FrameReader((message) => onMessage(message as EngineResponse));
    channel.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        this.logger.error({
          msg: 'unreadable frame from an inference process',
          process: index,
          err: (error as Error).message,
        });
        void this.kill(index, 'crash'); // never rejects; the exit handler fails what was pending
      }
    });
    channel.on('error', () => undefined); // the exit handler fails what was pending
    const onMessage = (response: EngineResponse) => {
      if ('ready' in response) {
        managed.ready = true;
        this.emit('ready', index);
        return;
      }
      const entry = managed.pending.get(response.id);
      if (!entry) return;
      managed.pending.delete(response.id);
      if (response.ok) entry.resolve(response.result);
      else entry.reject(toError(response.error));
    };
    child.on('error', (error) =>
      this.logger.error({ msg: 'inference process failed', process: index, err: error.message }),
    );
    child.once('exit', (code, signal) => this.onExit(managed, code, signal));
  }

  private onExit(managed: ManagedProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const { index } = managed;
    if (this.processes[index] === managed) this.processes[index] = undefined;
    managed.ready = false;
    const reason: RestartReason = managed.endedBy === 'stop' ? 'recycle' : (managed.endedBy ?? 'crash');
    for (const entry of managed.pending.values()) entry.reject(new UnavailableError(EXIT_MESSAGES[reason], 1));
    managed.pending.clear();
    if (this.stopping || managed.endedBy === 'stop') return;
    this.restarts++;
    this.emit('restart', reason);
    const log = { msg: 'inference process ended; starting a replacement', process: index, reason, code, signal };
    if (reason === 'crash') this.logger.error(log);
    else this.logger.warn(log);
    const quick = performance.now() - managed.startedAt < CRASH_LOOP_MS && reason === 'crash';
    if (quick) setTimeout(() => !this.stopping && this.spawn(index), CRASH_LOOP_PAUSE_MS).unref();
    else this.spawn(index);
  }

  /** Reads each process' resident memory; one past the limit is killed (its request gets 503). */
  private async pollMemory(): Promise<void> {
    await Promise.all(
      this.processes.map(async (managed) => {
        const pid = managed?.child.pid;
        if (!managed || pid === undefined || managed.endedBy) return;
        const rss = await residentBytes(pid);
        if (rss === undefined) return;
        managed.rssBytes = rss;
        if (this.maxRssBytes > 0 && rss > this.maxRssBytes && !managed.endedBy) {
          this.logger.warn({
            msg: 'inference process passed INFERENCE_PROCESS_MAX_RSS_BYTES; killing it',
            process: managed.index,
            rssBytes: rss,
            maxRssBytes: this.maxRssBytes,
          });
          void this.kill(managed.index, 'memory'); // never rejects; the exit handler fails its requests
        }
      }),
    );
  }
}

/** VmRSS of a process from /proc (Linux); undefined where there is no /proc. */
async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Doubles for unit tests of the inference scheduler (src/inference/scheduler.ts) and service: a
 * fake of the InferencePort the test drives by hand, a fake of the whole pool (FakePool), virtual
 * time, and a probe that counts how often a promise is settled.
 */
import { EventEmitter } from 'node:events';
import type { TestContext } from 'node:test';
import { UnavailableError } from '../../src/common/errors';
import type { InferencePort, PoolRequest, RestartReason } from '../../src/inference/process-pool';

/** One request the scheduler sent; the test answers it with `FakePort.answer` or `FakePort.fail`. */
export interface SentRequest {
  index: number;
  request: PoolRequest;
  /** Set when it was answered, failed, or its process ended. */
  ended: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** 'down': no process (crashed, or killed and exited) until `restart`; 'killing': kill() called, no exit yet. */
export type SlotState = 'ready' | 'down' | 'killing';

export interface FakePortOptions {
  /** Whether every slot starts ready (default true). */
  ready?: boolean;
  /**
   * When a killed slot's pending send rejects: at `kill()` (default) or at `exit()`, the order
   * ProcessPool happens to follow (the interface promises neither).
   */
  failSendOn?: 'kill' | 'exit';
  /** Whether kill() resolves at once (the process exits at once) instead of at `exit()`. */
  exitOnKill?: boolean;
}

/**
 * InferencePort with N slots the test drives: a send stays pending until the test answers or
 * fails it, a kill rejects the slot's pending send with UnavailableError and resolves when the
 * test says the process exited, and `restart` makes a slot ready again (calling the onReady
 * listeners). Calls a real pool would refuse (a send to a slot that is not ready or already
 * busy) are recorded in `misuse`.
 */
export class FakePort implements InferencePort {
  readonly sent: SentRequest[] = [];
  readonly kills: { index: number; reason: RestartReason; request?: SentRequest }[] = [];
  readonly misuse: string[] = [];
  private readonly states: SlotState[];
  private readonly inFlight: (SentRequest | undefined)[];
  private readonly exits: ((() => void) | undefined)[];
  private readonly listeners: ((index: number) => void)[] = [];

  constructor(
    readonly size: number,
    private readonly options: FakePortOptions = {},
  ) {
    this.states = new Array<SlotState>(size).fill(options.ready === false ? 'down' : 'ready');
    this.inFlight = new Array<SentRequest | undefined>(size).fill(undefined);
    this.exits = new Array<(() => void) | undefined>(size).fill(undefined);
  }

  isReady(index: number): boolean {
    return this.states[index] === 'ready';
  }

  state(index: number): SlotState {
    return this.states[index];
  }

  onReady(listener: (index: number) => void): void {
    this.listeners.push(listener);
  }

  send<T>(index: number, request: PoolRequest): Promise<T> {
    if (this.states[index] !== 'ready') this.misuse.push(`send to slot ${index} while ${this.states[index]}`);
    if (this.inFlight[index]) this.misuse.push(`send to slot ${index} while it runs another request`);
    return new Promise<T>((resolve, reject) => {
      const sent: SentRequest = { index, request, ended: false, resolve: resolve as (value: unknown) => void, reject };
      this.sent.push(sent);
      this.inFlight[index] = sent;
    });
  }

  kill(index: number, reason: RestartReason): Promise<void> {
    if (this.states[index] !== 'ready') this.misuse.push(`kill of slot ${index} while ${this.states[index]}`);
    this.kills.push({ index, reason, request: this.inFlight[index] });
    this.states[index] = 'killing';
    if (this.options.failSendOn !== 'exit') this.endInFlight(index, 'killed');
    const exited = new Promise<void>((resolve) => {
      this.exits[index] = resolve;
    });
    if (this.options.exitOnKill) this.exit(index);
    return exited;
  }

  /** The killed process at `index` has exited: its kill() resolves; the slot is down until `restart`. */
  exit(index: number): void {
    if (this.states[index] !== 'killing') throw new Error(`slot ${index} is ${this.states[index]}, not being killed`);
    this.states[index] = 'down';
    const exited = this.exits[index] as () => void;
    this.exits[index] = undefined;
    exited();
    this.endInFlight(index, 'killed');
  }

  /** The process at `index` dies on its own: its pending send rejects with UnavailableError. */
  crash(index: number): UnavailableError {
    if (this.states[index] !== 'ready') throw new Error(`slot ${index} is ${this.states[index]}, not running`);
    this.states[index] = 'down';
    return this.endInFlight(index, 'crashed');
  }

  /** A replacement process at `index` is ready: the onReady listeners are called. */
  restart(index: number): void {
    if (this.states[index] !== 'down') throw new Error(`slot ${index} is ${this.states[index]}, not down`);
    this.states[index] = 'ready';
    for (const listener of this.listeners) listener(index);
  }

  /** The request running at `index`, if any. */
  running(index: number): SentRequest | undefined {
    return this.inFlight[index];
  }

  answer(index: number, value: unknown): void {
    this.take(index).resolve(value);
  }

  fail(index: number, error: Error): void {
    this.take(index).reject(error);
  }

  private take(index: number): SentRequest {
    const sent = this.inFlight[index];
    if (!sent) throw new Error(`slot ${index} runs nothing`);
    this.inFlight[index] = undefined;
    sent.ended = true;
    return sent;
  }

  private endInFlight(index: number, how: string): UnavailableError {
    const error = new UnavailableError(`the inference process was ${how}`, 1);
    if (this.inFlight[index]) this.take(index).reject(error);
    return error;
  }
}

/** Lets every pending promise reaction run (setImmediate is left real by VirtualClock). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Virtual time for the test it is made in: performance.now() and setTimeout both move only when
 * the test calls `advance` (node:test mock timers for setTimeout, a mocked performance.now()).
 * `timers` counts the timeouts set and neither run nor cleared yet.
 */
export class VirtualClock {
  now = 1_000_000;
  private readonly pending = new Set<unknown>();

  constructor(private readonly t: TestContext) {
    t.mock.method(performance, 'now', () => this.now);
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const set = globalThis.setTimeout;
    const clear = globalThis.clearTimeout;
    const pending = this.pending;
    t.mock.method(globalThis, 'setTimeout', function (callback: (...args: unknown[]) => void, ms?: number) {
      const timer: unknown = set(() => {
        pending.delete(timer);
        callback();
      }, ms);
      pending.add(timer);
      return timer;
    });
    t.mock.method(globalThis, 'clearTimeout', (timer: NodeJS.Timeout | undefined) => {
      pending.delete(timer);
      clear(timer);
    });
  }

  /** Timeouts set and neither run nor cleared. */
  get timers(): number {
    return this.pending.size;
  }

  /**
   * Moves time forward 1 ms at a time, running the timers due and the promise reactions they
   * start. Reactions already queued run first, as Node runs them before any timer.
   */
  async advance(ms: number): Promise<void> {
    for (let i = 0; i < ms; i++) {
      await flush();
      this.now += 1;
      this.t.mock.timers.tick(1);
      await flush();
    }
  }

  /** Moves performance.now() alone, as when the event loop is late to run the timers due. */
  jump(ms: number): void {
    this.now += ms;
  }
}

/** A promise with what became of it, and how many times its resolve or reject function was called. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  readonly calls: number;
  outcome?: { ok: true; value: T } | { ok: false; error: Error };
  /** performance.now() when it settled. */
  settledAt?: number;
}

/**
 * Calls `create` with Promise swapped for a subclass that counts the calls to each instance's
 * resolve and reject functions, and tracks the promise it returns. A promise settles once
 * whatever is called after; the count shows whether its creator tried to settle it again.
 * Only promises constructed during the synchronous call are counted; their derived promises
 * (then, await) are plain ones.
 */
export function trackCalls<T>(create: () => Promise<T>): Tracked<T> {
  const NativePromise = globalThis.Promise;
  const counts = new WeakMap<object, { calls: number }>();
  class CountingPromise<U> extends NativePromise<U> {
    static override get [Symbol.species](): PromiseConstructor {
      return NativePromise;
    }

    constructor(executor: (resolve: (value: U | PromiseLike<U>) => void, reject: (reason?: unknown) => void) => void) {
      const count = { calls: 0 };
      super((resolve, reject) =>
        executor(
          (value) => {
            count.calls++;
            resolve(value);
          },
          (reason) => {
            count.calls++;
            reject(reason);
          },
        ),
      );
      counts.set(this, count);
    }
  }
  let promise: Promise<T>;
  globalThis.Promise = CountingPromise as unknown as PromiseConstructor;
  try {
    promise = create();
  } finally {
    globalThis.Promise = NativePromise;
  }
  const count = counts.get(promise);
  if (!count) throw new Error('the promise was not constructed during the call');
  const tracked: Tracked<T> = {
    promise,
    get calls() {
      return count.calls;
    },
  };
  promise.then(
    (value) => {
      tracked.outcome = { ok: true, value };
      tracked.settledAt = performance.now();
    },
    (error: Error) => {
      tracked.outcome = { ok: false, error };
      tracked.settledAt = performance.now();
    },
  );
  return tracked;
}

/** One request a FakePool was sent; the test answers it with `answer` or `fail`. */
export interface PoolSend {
  index: number;
  request: PoolRequest;
  ended: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The whole pool as InferenceService drives it (InferencePool), driven by the test: processes
 * that take any number of sends (as ProcessPool's do, one after the other), a kill or crash that
 * fails what the slot was sent (503) and emits `restart`, `restart(index)` that makes a slot ready
 * again, and a `stop` that resolves only once every send has ended (the test answers them, or
 * `stopped()` fails the rest as the processes exiting would).
 */
export class FakePool extends EventEmitter<{ ready: [number]; restart: [RestartReason] }> {
  readonly sends: PoolSend[] = [];
  readonly kills: { index: number; reason: RestartReason }[] = [];
  readonly calls: string[] = [];
  restartCount = 0;
  started = false;
  stopping?: { graceMs?: number };
  private readonly readySlots: boolean[];
  private stopDone?: () => void;

  constructor(
    readonly size: number,
    private readonly startsReady = true,
  ) {
    super();
    this.readySlots = new Array<boolean>(size).fill(false);
  }

  start(): void {
    this.started = true;
    if (this.startsReady) for (let i = 0; i < this.size; i++) this.readySlots[i] = true;
  }

  whenReady(): Promise<boolean> {
    return Promise.resolve(this.alive === this.size);
  }

  isReady(index: number): boolean {
    return this.readySlots[index];
  }

  onReady(listener: (index: number) => void): void {
    this.on('ready', listener);
  }

  get alive(): number {
    return this.readySlots.filter(Boolean).length;
  }

  /** Sends not answered yet. */
  get inFlight(): number {
    return this.pending().length;
  }

  describe(): { index: number; pid?: number; rssBytes?: number }[] {
    return this.readySlots.map((_, index) => ({ index, pid: 1000 + index }));
  }

  send<T>(index: number, request: PoolRequest): Promise<T> {
    if (!this.readySlots[index]) return Promise.reject(new UnavailableError('No inference process is running', 1));
    return new Promise<T>((resolve, reject) => {
      const send: PoolSend = { index, request, ended: false, resolve: resolve as (value: unknown) => void, reject };
      this.sends.push(send);
    });
  }

  kill(index: number, reason: RestartReason): Promise<void> {
    this.kills.push({ index, reason });
    this.end(index, reason);
    return Promise.resolve();
  }

  /** The process at `index` dies on its own. */
  crash(index: number): void {
    this.end(index, 'crash');
  }

  recycle(index: number): Promise<void> {
    this.calls.push(`recycle ${index}`);
    this.end(index, 'recycle');
    return Promise.resolve();
  }

  /** A replacement process at `index` is ready. */
  restart(index: number): void {
    this.readySlots[index] = true;
    this.emit('ready', index);
  }

  stop(graceMs?: number): Promise<void> {
    this.stopping = { graceMs };
    return new Promise((resolve) => {
      this.stopDone = resolve;
      this.maybeStopped();
    });
  }

  /** The grace period is over: whatever was still running fails as its process is ended. */
  stopped(): void {
    for (const send of this.pending()) this.settle(send, new UnavailableError('The inference process was stopped', 1));
    this.readySlots.fill(false);
    this.maybeStopped();
  }

  pending(index?: number): PoolSend[] {
    return this.sends.filter((s) => !s.ended && (index === undefined || s.index === index));
  }

  /** The oldest send not answered yet (of slot `index` when given). */
  next(index?: number): PoolSend {
    const send = this.pending(index)[0];
    if (!send) throw new Error(`no send pending${index === undefined ? '' : ` at slot ${index}`}`);
    return send;
  }

  answer(send: PoolSend, value: unknown): void {
    this.settle(send, undefined, value);
  }

  fail(send: PoolSend, error: Error): void {
    this.settle(send, error);
  }

  private end(index: number, reason: RestartReason): void {
    this.readySlots[index] = false;
    for (const send of this.pending(index)) {
      this.settle(send, new UnavailableError(`The inference process ended (${reason}); retry it`, 1));
    }
    if (!this.stopping) {
      this.restartCount++;
      this.emit('restart', reason);
    }
  }

  private settle(send: PoolSend, error?: Error, value?: unknown): void {
    if (send.ended) throw new Error('a send ended twice');
    send.ended = true;
    if (error) send.reject(error);
    else send.resolve(value);
    this.maybeStopped();
  }

  private maybeStopped(): void {
    if (this.stopDone && this.pending().length === 0) {
      this.readySlots.fill(false);
      this.stopDone();
      this.stopDone = undefined;
    }
  }
}

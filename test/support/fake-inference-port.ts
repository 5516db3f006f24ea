/**
 * Doubles for unit tests of the inference scheduler (src/inference/scheduler.ts): a fake of the
 * InferencePort the test drives by hand, virtual time, and a probe that counts how often a
 * promise is settled.
 */
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
 */
export class VirtualClock {
  now = 1_000_000;

  constructor(private readonly t: TestContext) {
    t.mock.method(performance, 'now', () => this.now);
    t.mock.timers.enable({ apis: ['setTimeout'] });
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

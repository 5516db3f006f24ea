import { TimeoutError, TooManyRequestsError, UnavailableError } from '../common/errors';
import { InvalidInputError } from '../common/errors';
import { InferenceFailedError, NotStartedError, OutputTooLargeError } from './engine-errors';
import type { InferencePort, PoolRequest } from './process-pool';
import type { LooseInputs, LooseTensor } from './tensor-codec';
import type { RawTensor } from './tensor';
import type { EncodedOutputs, RunOutcome } from './worker/protocol';

/**
 * A lane that used the engine this recently counts as active: no other lane may then take every
 * process, so a model that hangs (or floods) cannot starve the others.
 */
export const ACTIVE_LANE_MS = 2_000;

/**
 * A lane whose work was killed at its deadline, or whose process died under it, is suspect this
 * long: suspect lanes together leave one process to the others (while those are active).
 */
export const SUSPECT_LANE_MS = 60_000;

/** Dynamic batching of one model (Triton's semantics), as the registry stores it. */
export interface BatchSettings {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  preferredBatchSizes: number[];
}

/** A request that may join others: same `key` (trailing shapes, outputs), `rows` along dimension 0. */
export interface Batchable {
  key: string;
  rows: number;
  /** Inputs read from JSON (all numbers, Float64Array) or raw bytes (RawTensor), never a mix. */
  feeds: LooseInputs | Record<string, RawTensor>;
  settings: BatchSettings;
}

export interface WorkOptions {
  /** performance.now() time by which the work must have answered (504 after). */
  deadline: number;
  /** Lane's bound on work waiting or running (INFERENCE_MAX_QUEUE): 429 past it. */
  maxQueue?: number;
  /** For metrics: the model's name. */
  model?: string;
  batch?: Batchable;
  /**
   * Work nobody waits for (shadow runs): its lane is served only when no other lane has work
   * waiting, never takes the last free process (with two or more), and never holds other lanes back.
   */
  background?: boolean;
}

interface Work {
  lane: string;
  request: PoolRequest;
  options: WorkOptions;
  enqueuedAt: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  settled: boolean;
  /** Whether it still counts against its lane's bound (released once, when its process is free). */
  holdsSlot: boolean;
  timer?: NodeJS.Timeout;
  /** Set after its batch failed: it runs alone. */
  alone?: boolean;
}

interface Running {
  members: Work[];
  batched: boolean;
  /** Its process is being killed at a deadline: its members have their 504, the slot frees when the kill ends. */
  killed?: boolean;
}

/** What the scheduler tells its owner, for metrics. */
export interface SchedulerHooks {
  onRun?(model: string, size: number): void;
}

function shuttingDown(): UnavailableError {
  return new UnavailableError('The service is shutting down; retry the request', 1);
}

/** Failures that belong to one member's data: a failed batch is then re-run member by member. */
function isMemberFailure(error: unknown): boolean {
  return (
    error instanceof InvalidInputError || error instanceof InferenceFailedError || error instanceof OutputTooLargeError
  );
}

/**
 * The queue in front of the inference processes. Work waits here, on the HTTP side, in a lane
 * per model (and one per kind of model-less work); a process gets one message at a time, when it
 * is free. Every work item ends exactly once: with its result, its error, 504 at its deadline
 * (waiting or running; a running one's process is killed), 429 when its lane is full, or 503
 * when its process dies. A lane's slot of work whose process was killed is held until the
 * process has exited, so INFERENCE_MAX_QUEUE bounds what is really in flight.
 */
export class Scheduler {
  private readonly lanes = new Map<string, Work[]>();
  private readonly running: (Running | undefined)[];
  /** Work counted against each lane's bound: waiting, running, or held by a process being killed. */
  private readonly held = new Map<string, number>();
  private readonly lastActive = new Map<string, number>();
  private readonly laneModel = new Map<string, string>();
  /** Lanes of background work (WorkOptions.background). */
  private readonly backgroundLanes = new Set<string>();
  private readonly suspectUntil = new Map<string, number>();
  private lastServed?: string;
  private wakeAt = Infinity;
  private wakeTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly port: InferencePort,
    private readonly hooks: SchedulerHooks = {},
  ) {
    this.running = new Array(port.size).fill(undefined);
    port.onReady(() => this.pump());
  }

  submit<T>(lane: string, request: PoolRequest, options: WorkOptions): Promise<T> {
    if (this.closed) return Promise.reject(shuttingDown());
    const count = this.held.get(lane) ?? 0;
    if (options.maxQueue !== undefined && count >= options.maxQueue) {
      return Promise.reject(
        new TooManyRequestsError(
          `This model already has ${count} requests waiting or running (INFERENCE_MAX_QUEUE); retry shortly`,
          1,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const work: Work = {
        lane,
        request,
        options,
        enqueuedAt: performance.now(),
        resolve: resolve as (value: unknown) => void,
        reject,
        settled: false,
        holdsSlot: true,
      };
      this.held.set(lane, count + 1);
      if (options.model) this.laneModel.set(lane, options.model);
      if (options.background) this.backgroundLanes.add(lane);
      const wait = Math.max(0, options.deadline - work.enqueuedAt);
      work.timer = setTimeout(() => this.expire(work), wait);
      this.queueOf(lane).push(work);
      this.pump();
    });
  }

  /**
   * At shutdown: work waiting ends now with 503 instead of at its deadline, and new work is
   * refused. Work already running ends as usual, when its process answers or exits.
   */
  close(): void {
    this.closed = true;
    clearTimeout(this.wakeTimer);
    this.wakeAt = Infinity;
    this.dropWaiting();
  }

  /** Work waiting or running (or held by a process being killed), by model name. */
  depthByModel(): Record<string, number> {
    const depth: Record<string, number> = {};
    for (const [lane, count] of this.held) {
      const model = this.laneModel.get(lane);
      if (model) depth[model] = (depth[model] ?? 0) + count;
    }
    return depth;
  }

  /** Lanes (model sha256s, for model work) with work waiting, running or held. */
  busyLanes(): Set<string> {
    return new Set(this.held.keys());
  }

  /** Waiting work, all lanes. */
  get waiting(): number {
    let n = 0;
    for (const queue of this.lanes.values()) n += queue.length;
    return n;
  }

  private queueOf(lane: string): Work[] {
    let queue = this.lanes.get(lane);
    if (!queue) {
      queue = [];
      this.lanes.set(lane, queue);
    }
    return queue;
  }

  /** Hands work to every free, ready process; with nothing left waiting, no wake-up stays set. */
  private pump(): void {
    for (let index = 0; index < this.running.length; index++) {
      if (this.running[index] || !this.port.isReady(index)) continue;
      const members = this.next();
      if (!members) break;
      this.dispatch(index, members);
    }
    if (this.wakeAt !== Infinity && this.waiting === 0) {
      clearTimeout(this.wakeTimer);
      this.wakeAt = Infinity;
    }
  }

  /**
   * The next work to send, round robin over lanes: one item, or a batch of one lane's items.
   * Background lanes only when no other lane has anything to send.
   */
  private next(): Work[] | undefined {
    const all = [...this.lanes.keys()];
    const foreground = all.filter((lane) => !this.backgroundLanes.has(lane));
    return (
      this.nextOf(foreground) ??
      (this.backgroundMayRun() ? this.nextOf(all.filter((lane) => this.backgroundLanes.has(lane))) : undefined)
    );
  }

  /** With two or more processes, background work leaves one free for work somebody waits for. */
  private backgroundMayRun(): boolean {
    const size = this.running.length;
    if (size < 2) return true;
    const busy = this.running.filter((r) => r && this.backgroundLanes.has(r.members[0].lane)).length;
    return busy + 1 < size;
  }

  private nextOf(lanes: string[]): Work[] | undefined {
    const now = performance.now();
    // The lanes take turns from the one after the lane served last, whichever arrived or left meanwhile.
    const start = lanes.indexOf(this.lastServed ?? '') + 1;
    for (let step = 0; step < lanes.length; step++) {
      const lane = lanes[(start + step) % lanes.length];
      const queue = this.lanes.get(lane) as Work[];
      for (const work of queue.filter((w) => w.options.deadline <= now)) this.expireWaiting(queue, work);
      if (queue.length === 0) {
        if ((this.held.get(lane) ?? 0) === 0 && now - (this.lastActive.get(lane) ?? 0) > ACTIVE_LANE_MS) {
          this.lanes.delete(lane);
          this.backgroundLanes.delete(lane);
        }
        continue;
      }
      if (this.atShare(lane, now)) continue;
      const members = this.take(queue, now);
      if (!members) continue;
      this.lastServed = lane;
      return members;
    }
    return undefined;
  }

  /**
   * Whether taking one more process would leave none to the other active lanes: for this lane
   * alone, or for all suspect lanes together when this one is suspect.
   */
  private atShare(lane: string, now: number): boolean {
    const size = this.running.length;
    if (size < 2) return false;
    const suspect = this.isSuspect(lane, now);
    const group = (other: string) => other === lane || (suspect && this.isSuspect(other, now));
    const busy = this.running.filter((r) => r && group(r.members[0].lane)).length;
    if (busy + 1 < size) return false;
    for (const [other, queue] of this.lanes) {
      if (group(other) || this.backgroundLanes.has(other)) continue;
      if (queue.length > 0 || this.running.some((r) => r?.members[0].lane === other)) return true;
      const until = (this.lastActive.get(other) ?? -Infinity) + ACTIVE_LANE_MS;
      if (now < until) {
        this.wakeUpAt(until);
        return true;
      }
    }
    return false;
  }

  private isSuspect(lane: string, now: number): boolean {
    const until = this.suspectUntil.get(lane);
    if (until === undefined) return false;
    if (until > now) return true;
    this.suspectUntil.delete(lane);
    return false;
  }

  private markSuspect(lane: string): void {
    const now = performance.now();
    for (const [other, until] of this.suspectUntil) if (until <= now) this.suspectUntil.delete(other);
    this.suspectUntil.set(lane, now + SUSPECT_LANE_MS);
  }

  /**
   * The head of a lane, alone or with the waiting work it can batch with. A batch short of
   * `maxBatchSize` (and of every preferred size) waits for more until its oldest member has waited
   * `maxQueueDelayMs`; the lane is then skipped and looked at again when that delay ends.
   */
  private take(queue: Work[], now: number): Work[] | undefined {
    const head = queue[0];
    const batch = head.alone ? undefined : head.options.batch;
    if (!batch) return queue.splice(0, 1);
    const { maxBatchSize, maxQueueDelayMs, preferredBatchSizes } = batch.settings;
    const members: Work[] = [];
    let rows = 0;
    let preferredEnd = 0;
    for (let i = 0; i < queue.length; i++) {
      const candidate = queue[i].alone ? undefined : queue[i].options.batch;
      if (!candidate || candidate.key !== batch.key) continue;
      if (rows + candidate.rows > maxBatchSize) break;
      members.push(queue[i]);
      rows += candidate.rows;
      if (preferredBatchSizes.includes(rows)) preferredEnd = members.length;
    }
    const full = rows === maxBatchSize;
    const due = head.enqueuedAt + maxQueueDelayMs;
    let chosen: Work[];
    if (full || now >= due) chosen = members;
    else if (preferredEnd > 0) chosen = members.slice(0, preferredEnd);
    else {
      this.wakeUpAt(due);
      return undefined;
    }
    for (const member of chosen) queue.splice(queue.indexOf(member), 1);
    return chosen;
  }

  private wakeUpAt(at: number): void {
    if (at >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeAt = Infinity;
        this.pump();
      },
      Math.max(0, at - performance.now()),
    );
  }

  private dispatch(index: number, members: Work[]): void {
    const lane = members[0].lane;
    const running: Running = { members, batched: members.length > 1 };
    this.running[index] = running;
    this.lastActive.set(lane, performance.now());
    const request = running.batched ? stackRequest(members) : members[0].request;
    if (request.type === 'run') this.hooks.onRun?.(members[0].options.model ?? lane, members.length);
    this.port.send<unknown>(index, request).then(
      (result) => this.finish(index, running, result, undefined),
      (error: Error) => this.finish(index, running, undefined, error),
    );
  }

  private finish(index: number, running: Running, result: unknown, error: Error | undefined): void {
    if (this.running[index] !== running || running.killed) return; // killed at a deadline: already handled
    this.running[index] = undefined;
    if (running.batched && (error ? isMemberFailure(error) : (result as RunOutcome<EncodedOutputs>).outputs === null)) {
      // One member's data, or outputs that do not split back: each member again, on its own.
      const queue = this.queueOf(running.members[0].lane);
      const retry = running.members.filter((m) => !m.settled);
      for (const member of retry) member.alone = true;
      queue.unshift(...retry);
    } else {
      if (error instanceof UnavailableError) this.markSuspect(running.members[0].lane);
      running.members.forEach((member, i) => {
        if (error) this.settle(member, error);
        else if (running.batched) {
          const outcome = result as RunOutcome<EncodedOutputs>;
          this.settle(member, undefined, { ...outcome, outputs: [(outcome.outputs as EncodedOutputs[])[i]] });
        } else this.settle(member, undefined, result);
        this.release(member);
      });
    }
    if (this.closed) this.dropWaiting(); // a failed batch's members, queued again above
    this.pump();
  }

  private dropWaiting(): void {
    for (const queue of this.lanes.values()) {
      for (const work of queue.splice(0)) {
        this.settle(work, shuttingDown());
        this.release(work);
      }
    }
  }

  /** A deadline passed: 504 now; a running item's process is killed, its slot freed once it exits. */
  private expire(work: Work): void {
    if (work.settled) return;
    const queue = this.lanes.get(work.lane);
    if (queue?.includes(work)) {
      this.expireWaiting(queue, work);
      this.pump();
      return;
    }
    const index = this.running.findIndex((r) => r?.members.includes(work));
    if (index < 0) return;
    const running = this.running[index] as Running;
    running.killed = true;
    this.markSuspect(work.lane);
    for (const member of running.members) {
      this.settle(member, new TimeoutError('Inference did not finish within its deadline (INFERENCE_TIMEOUT_MS)'));
    }
    const freed = () => {
      if (this.running[index] === running) this.running[index] = undefined;
      for (const member of running.members) this.release(member);
      this.pump();
    };
    this.port.kill(index, 'timeout').then(freed, freed);
  }

  private expireWaiting(queue: Work[], work: Work): void {
    queue.splice(queue.indexOf(work), 1);
    this.settle(work, new NotStartedError(`Inference did not start within its deadline; the engine is busy`));
    this.release(work);
  }

  private settle(work: Work, error?: Error, result?: unknown): void {
    if (work.settled) return;
    work.settled = true;
    clearTimeout(work.timer);
    if (error) work.reject(error);
    else work.resolve(result);
  }

  private release(work: Work): void {
    if (!work.holdsSlot) return;
    work.holdsSlot = false;
    const left = (this.held.get(work.lane) ?? 1) - 1;
    if (left > 0) this.held.set(work.lane, left);
    else {
      this.held.delete(work.lane);
      if (this.lanes.get(work.lane)?.length === 0) this.laneModel.delete(work.lane);
    }
  }
}

/** One `run` for a batch: each input's members' rows stacked along dimension 0, in order. */
function stackRequest(members: Work[]): PoolRequest {
  const first = members[0].request as Extract<PoolRequest, { type: 'run' }>;
  const batches = members.map((m) => m.options.batch as Batchable);
  const feeds: Record<string, LooseTensor | RawTensor> = {};
  for (const name of Object.keys(batches[0].feeds)) {
    const parts = batches.map((b) => b.feeds[name] as StackablePart);
    const rows = parts.reduce((n, p) => n + p.dims[0], 0);
    Object.defineProperty(feeds, name, {
      value: stackParts(parts, [rows, ...parts[0].dims.slice(1)]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const stacked = {
    ...first,
    feeds: feeds as LooseInputs | Record<string, RawTensor>,
    rows: batches.map((b) => b.rows),
  };
  if (first.rawOutputs) stacked.rawOutputs = { json: jsonWantedBy(members) };
  return stacked;
}

/** Outputs any member wants as JSON text: the batch renders them for all (the others ignore it). */
function jsonWantedBy(members: Work[]): string[] {
  const names = new Set<string>();
  for (const member of members) {
    for (const name of (member.request as Extract<PoolRequest, { type: 'run' }>).rawOutputs?.json ?? [])
      names.add(name);
  }
  return [...names];
}

type StackablePart = RawTensor | { dims: number[]; data: Float64Array; declared?: unknown };

/** Members' parts of one input, concatenated: row-major data stacks along dimension 0 end to end. */
function stackParts(parts: StackablePart[], dims: number[]): LooseTensor | RawTensor {
  const head = parts[0];
  if ('bytes' in head) {
    const bytes = new Uint8Array(parts.reduce((n, p) => n + (p as RawTensor).bytes.byteLength, 0));
    let offset = 0;
    for (const part of parts as RawTensor[]) {
      bytes.set(part.bytes, offset);
      offset += part.bytes.byteLength;
    }
    return { dtype: head.dtype, dims, bytes };
  }
  const numbers = parts as Exclude<StackablePart, RawTensor>[];
  const data = new Float64Array(numbers.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const part of numbers) {
    data.set(part.data, offset);
    offset += part.data.length;
  }
  return head.declared === undefined ? { dims, data } : { dims, data, declared: head.declared };
}

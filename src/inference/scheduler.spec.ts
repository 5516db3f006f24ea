import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  FakePort,
  flush,
  trackCalls,
  VirtualClock,
  type FakePortOptions,
  type SentRequest,
  type Tracked,
} from '../../test/support/fake-inference-port';
import { InvalidInputError, TimeoutError, TooManyRequestsError, UnavailableError } from '../common/errors';
import { InferenceFailedError, NotStartedError, OutputTooLargeError } from './engine-errors';
import type { PoolRequest } from './process-pool';
import { ACTIVE_LANE_MS, Scheduler, type BatchSettings } from './scheduler';
import { prng } from '../../test/support/prng';
import type { RunOutcome } from './worker/protocol';

type RunRequest = Extract<PoolRequest, { type: 'run' }>;
type Feed = { dims: number[]; data: Float64Array; declared?: unknown };

const TIMES = { validateMs: 1, inferenceMs: 2, encodeMs: 3 };
const LONG = 60_000;

/** What the fake process answers for the works whose ids a request carries (in row order). */
function outcomeFor(ids: number[]): RunOutcome {
  return { outputs: ids.map((id) => `out-${id}`), ...TIMES };
}

/** What one work must resolve with: its own output, alone or split from its batch's. */
function expectedFor(id: number): RunOutcome {
  return outcomeFor([id]);
}

/**
 * The ids of the works a request carries: every value of a work's feed is its id, so a stacked
 * request's members are read back from its data and `rows`.
 */
function idsOf(request: PoolRequest): number[] {
  const run = request as RunRequest;
  const x = run.feeds.x as Feed;
  const width = x.dims.slice(1).reduce((n, d) => n * d, 1);
  let offset = 0;
  return (run.rows ?? [x.dims[0]]).map((rows) => {
    const id = x.data[offset];
    offset += rows * width;
    return id;
  });
}

interface Item {
  id: number;
  lane: string;
  request: RunRequest;
  deadline: number;
  work: Tracked<RunOutcome>;
}

interface SubmitOptions {
  /** Deadline from now, in ms (default 60 s). */
  deadlineIn?: number;
  maxQueue?: number;
  /** The model name reported for the lane (default: the lane; null: none, as for model-less work). */
  model?: string | null;
  /** Makes the work batchable with this key and settings. */
  batch?: { key: string; settings: BatchSettings };
  rows?: number;
  width?: number;
  /** Background work (shadow runs). */
  background?: boolean;
}

/** A scheduler on a FakePort, in virtual time, with every work it was given. */
class Harness {
  readonly clock: VirtualClock;
  readonly port: FakePort;
  readonly scheduler: Scheduler;
  readonly runs: { model: string; size: number }[] = [];
  readonly items: Item[] = [];

  constructor(t: TestContext, slots: number, options: FakePortOptions = {}) {
    this.clock = new VirtualClock(t);
    this.port = new FakePort(slots, options);
    this.scheduler = new Scheduler(this.port, { onRun: (model, size) => this.runs.push({ model, size }) });
  }

  submit(lane: string, options: SubmitOptions = {}): Item {
    const id = this.items.length + 1;
    const rows = options.rows ?? 1;
    const width = options.width ?? 1;
    const feeds = {
      x: { dims: [rows, width], data: new Float64Array(rows * width).fill(id), declared: 'float32' },
    };
    const request: RunRequest = {
      type: 'run',
      model: { sha256: `sha-${lane}`, path: `/models/${lane}.onnx` },
      feeds,
      signature: [],
      outputs: ['y'],
    };
    const deadline = this.clock.now + (options.deadlineIn ?? LONG);
    const model = options.model === undefined ? lane : (options.model ?? undefined);
    const batch = options.batch && { key: options.batch.key, rows, feeds, settings: options.batch.settings };
    const work = trackCalls(() =>
      this.scheduler.submit<RunOutcome>(lane, request, {
        deadline,
        maxQueue: options.maxQueue,
        model,
        batch,
        background: options.background,
      }),
    );
    const item = { id, lane, request, deadline, work };
    this.items.push(item);
    return item;
  }

  /** Ids carried by each request sent so far, in order. */
  sentIds(): number[][] {
    return this.port.sent.map((s) => idsOf(s.request));
  }

  /** Answers the request running at `index` with each of its works' outputs. */
  async answer(index: number): Promise<void> {
    this.port.answer(index, outcomeFor(idsOf(this.running(index).request)));
    await flush();
  }

  running(index: number): SentRequest {
    const sent = this.port.running(index);
    assert.ok(sent, `slot ${index} should be running a request`);
    return sent;
  }

  depth(): Record<string, number> {
    return this.scheduler.depthByModel();
  }

  /** Nothing left anywhere: every work settled exactly once, no request in a process, no count held. */
  assertIdle(): void {
    assert.deepEqual(this.port.misuse, []);
    for (const item of this.items) {
      assert.ok(item.work.outcome, `work ${item.id} never settled`);
      assert.equal(item.work.calls, 1, `work ${item.id} was settled ${item.work.calls} times`);
    }
    for (let index = 0; index < this.port.size; index++) assert.equal(this.port.running(index), undefined);
    assert.deepEqual(this.scheduler.depthByModel(), {});
    assert.deepEqual([...this.scheduler.busyLanes()], []);
    assert.equal(this.scheduler.waiting, 0);
    assert.equal(this.clock.timers, 0, 'timers left behind');
  }
}

function assertResolved(item: Item): void {
  const outcome = item.work.outcome;
  assert.ok(outcome, `work ${item.id} has not settled`);
  assert.ok(outcome.ok, `work ${item.id} failed: ${outcome.ok ? '' : outcome.error.message}`);
  assert.deepEqual(outcome.value, expectedFor(item.id));
}

function assertRejected(item: Item, type: new (...args: never[]) => Error, message?: RegExp): Error {
  const outcome = item.work.outcome;
  assert.ok(outcome, `work ${item.id} has not settled`);
  assert.ok(!outcome.ok, `work ${item.id} resolved`);
  assert.ok(outcome.error instanceof type, `work ${item.id}: expected ${type.name}, got ${String(outcome.error)}`);
  if (message) assert.match(outcome.error.message, message);
  return outcome.error;
}

function assertPending(...items: Item[]): void {
  for (const item of items) assert.equal(item.work.outcome, undefined, `work ${item.id} settled`);
}

describe('Scheduler: dispatch', () => {
  it('sends one request per free process; the next waits until one answers', async (t) => {
    const h = new Harness(t, 1);
    const a1 = h.submit('A');
    const a2 = h.submit('A');
    await flush();
    assert.equal(h.port.sent.length, 1);
    assert.equal(h.port.sent[0].request, a1.request);
    assert.equal(h.port.sent[0].index, 0);
    assert.equal(h.scheduler.waiting, 1);
    assert.deepEqual(h.depth(), { A: 2 });
    assertPending(a1, a2);

    await h.answer(0);
    assertResolved(a1);
    assert.equal(h.port.sent.length, 2);
    assert.equal(h.port.sent[1].request, a2.request);
    assert.equal(h.scheduler.waiting, 0);
    assert.deepEqual(h.depth(), { A: 1 });

    await h.answer(0);
    assertResolved(a2);
    assert.deepEqual(h.runs, [
      { model: 'A', size: 1 },
      { model: 'A', size: 1 },
    ]);
    h.assertIdle();
  });

  it('sends nothing to a process that is not ready, and sends as soon as one becomes ready', async (t) => {
    const h = new Harness(t, 2, { ready: false });
    const a1 = h.submit('A');
    const a2 = h.submit('A');
    await flush();
    assert.equal(h.port.sent.length, 0);
    assert.equal(h.scheduler.waiting, 2);

    h.port.restart(1);
    assert.deepEqual(
      h.port.sent.map((s) => [s.index, idsOf(s.request)[0]]),
      [[1, a1.id]],
    );
    h.port.restart(0);
    assert.deepEqual(
      h.port.sent.map((s) => [s.index, idsOf(s.request)[0]]),
      [
        [1, a1.id],
        [0, a2.id],
      ],
    );
    await h.answer(0);
    await h.answer(1);
    assertResolved(a1);
    assertResolved(a2);
    h.assertIdle();
  });

  it('sends a lane’s work in the order it was submitted', async (t) => {
    const h = new Harness(t, 1);
    const items = [1, 2, 3, 4, 5].map(() => h.submit('A'));
    for (let i = 0; i < items.length; i++) await h.answer(0);
    assert.deepEqual(
      h.sentIds(),
      items.map((item) => [item.id]),
    );
    items.forEach(assertResolved);
    h.assertIdle();
  });

  it('takes the lanes in turn when they all have work waiting', async (t) => {
    const h = new Harness(t, 1, { ready: false });
    const [a1, a2, a3] = [h.submit('A'), h.submit('A'), h.submit('A')];
    const [b1, b2] = [h.submit('B'), h.submit('B')];
    const c1 = h.submit('C');
    h.port.restart(0);
    for (let i = 0; i < 6; i++) await h.answer(0);
    assert.deepEqual(h.sentIds(), [[a1.id], [b1.id], [c1.id], [a2.id], [b2.id], [a3.id]]);
    h.assertIdle();
  });

  it('gives the next turn to a lane that arrives while another lane’s work runs', async (t) => {
    // A has just been served: B, waiting since before A's next work, goes first.
    const h = new Harness(t, 1);
    const a1 = h.submit('A');
    const a2 = h.submit('A');
    const b1 = h.submit('B');
    for (let i = 0; i < 3; i++) await h.answer(0);
    assert.deepEqual(h.sentIds(), [[a1.id], [b1.id], [a2.id]]);
    h.assertIdle();
  });

  it('passes a process’s error to its own work only', async (t) => {
    const h = new Harness(t, 1);
    const a1 = h.submit('A');
    const a2 = h.submit('A');
    const error = new InvalidInputError('bad inputs');
    h.port.fail(0, error);
    await flush();
    assert.equal(assertRejected(a1, InvalidInputError), error);
    await h.answer(0);
    assertResolved(a2);
    h.assertIdle();
  });
});

describe('Scheduler: every work ends exactly once', () => {
  it('answers 504 at the deadline of work still waiting, and sends it nowhere', async (t) => {
    const h = new Harness(t, 1);
    const a1 = h.submit('A');
    const a2 = h.submit('A', { deadlineIn: 50 });
    await h.clock.advance(49);
    assertPending(a1, a2);
    await h.clock.advance(1);
    assertRejected(a2, TimeoutError, /did not start within its deadline/);
    assert.equal(h.scheduler.waiting, 0);
    assert.deepEqual(h.depth(), { A: 1 });
    assert.deepEqual(h.port.kills, []);

    await h.answer(0);
    assertResolved(a1);
    assert.deepEqual(h.sentIds(), [[a1.id]]);
    h.assertIdle();
  });

  for (const failSendOn of ['kill', 'exit'] as const) {
    it(`answers 504 at the deadline of running work, kills its process and holds its count until the kill ends (send rejected at ${failSendOn})`, async (t) => {
      const h = new Harness(t, 1, { failSendOn });
      const a1 = h.submit('A', { deadlineIn: 50, maxQueue: 2 });
      const a2 = h.submit('A', { maxQueue: 2 });
      await h.clock.advance(50);
      assertRejected(a1, TimeoutError, /did not finish within its deadline/);
      assert.deepEqual(
        h.port.kills.map((k) => [k.index, k.reason]),
        [[0, 'timeout']],
      );
      // The killed process still holds A's count: INFERENCE_MAX_QUEUE bounds what really runs.
      assert.deepEqual(h.depth(), { A: 2 });
      assert.deepEqual([...h.scheduler.busyLanes()], ['A']);
      const a3 = h.submit('A', { maxQueue: 2 });
      await flush();
      assertRejected(a3, TooManyRequestsError);

      h.port.exit(0);
      await flush();
      assert.deepEqual(h.depth(), { A: 1 });
      assert.deepEqual(h.sentIds(), [[a1.id]]);
      h.port.restart(0);
      assert.deepEqual(h.sentIds(), [[a1.id], [a2.id]]);
      await h.answer(0);
      assertResolved(a2);
      // The send's late rejection (503) did not replace the 504.
      assertRejected(a1, TimeoutError);
      h.assertIdle();
    });
  }

  it('sends no work whose deadline has already passed when it is submitted, and kills nothing', async (t) => {
    // A prediction's decode can use up the deadline that its run shares.
    const h = new Harness(t, 1);
    const late = h.submit('A', { deadlineIn: 0 });
    await h.clock.advance(1);
    assertRejected(late, TimeoutError);
    assert.deepEqual(h.sentIds(), [], 'work past its deadline was sent to a process');
    assert.deepEqual(h.port.kills, [], 'a process was killed for work that was already late');
    h.assertIdle();
  });

  it('sends no work whose deadline passed while it waited, even before its timer has run', async (t) => {
    // The event loop is late: the process answers before the waiting work's deadline timer runs.
    const h = new Harness(t, 1);
    const a1 = h.submit('A');
    const a2 = h.submit('A', { deadlineIn: 50 });
    h.clock.jump(60);
    await h.answer(0);
    assertResolved(a1);
    assert.deepEqual(h.sentIds(), [[a1.id]], 'work past its deadline was sent to a process');
    await h.clock.advance(1);
    assertRejected(a2, TimeoutError);
    assert.deepEqual(h.port.kills, [], 'a process was killed for work that was already late');
    h.assertIdle();
  });

  it('answers 503 when the process running the work dies; the others keep serving', async (t) => {
    const h = new Harness(t, 2);
    const a1 = h.submit('A');
    const b1 = h.submit('B');
    const a2 = h.submit('A');
    await flush();
    assert.equal(h.running(0).request, a1.request);
    const error = h.port.crash(0);
    await flush();
    assert.equal(assertRejected(a1, UnavailableError), error);
    assert.deepEqual(h.depth(), { A: 1, B: 1 });
    assert.equal(h.scheduler.waiting, 1);

    await h.answer(1);
    assertResolved(b1);
    assert.equal(h.running(1).request, a2.request);
    await h.answer(1);
    assertResolved(a2);
    h.port.restart(0);
    h.assertIdle();
  });

  it('answers 429 past maxQueue without queueing the work; the bound is per lane', async (t) => {
    const h = new Harness(t, 1);
    const a1 = h.submit('A', { maxQueue: 2 });
    const a2 = h.submit('A', { maxQueue: 2 });
    const a3 = h.submit('A', { maxQueue: 2 });
    await flush();
    const error = assertRejected(a3, TooManyRequestsError) as TooManyRequestsError;
    assert.equal(error.retryAfterSeconds, 1);
    assert.equal(h.scheduler.waiting, 1);
    assert.deepEqual(h.depth(), { A: 2 });
    const b1 = h.submit('B', { maxQueue: 2 });

    await h.answer(0);
    assertResolved(a1);
    const a4 = h.submit('A', { maxQueue: 2 });
    const a5 = h.submit('A', { maxQueue: 2 });
    await flush();
    assertRejected(a5, TooManyRequestsError);
    for (let i = 0; i < 3; i++) await h.answer(0);
    assert.deepEqual(
      h
        .sentIds()
        .flat()
        .sort((x, y) => x - y),
      [a1.id, a2.id, b1.id, a4.id].sort((x, y) => x - y),
    );
    [a2, b1, a4].forEach(assertResolved);
    h.assertIdle();
  });

  it('counts model-less work in busyLanes but not in depthByModel', async (t) => {
    const h = new Harness(t, 1);
    const d1 = h.submit('decode', { model: null });
    const a1 = h.submit('A');
    await flush();
    assert.deepEqual(h.depth(), { A: 1 });
    assert.deepEqual([...h.scheduler.busyLanes()].sort(), ['A', 'decode']);
    await h.answer(0);
    await h.answer(0);
    assertResolved(d1);
    assertResolved(a1);
    h.assertIdle();
  });
});

describe('Scheduler: a lane’s share of the processes', () => {
  it('keeps the last process for another lane while one lane hangs', async (t) => {
    const h = new Harness(t, 2);
    const a1 = h.submit('A'); // hangs on process 0
    const b1 = h.submit('B');
    const a2 = h.submit('A');
    const a3 = h.submit('A');
    await flush();
    assert.equal(h.running(0).request, a1.request);
    assert.equal(h.running(1).request, b1.request);

    await h.answer(1);
    assertResolved(b1);
    // B was active just now: A, already on process 0, may not take process 1 too.
    assert.equal(h.port.running(1), undefined);
    assert.equal(h.scheduler.waiting, 2);
    const b2 = h.submit('B');
    assert.equal(h.running(1).request, b2.request);
    await h.answer(1);
    assertResolved(b2);
    assertPending(a1, a2, a3);

    await h.answer(0);
    await h.answer(0);
    await h.answer(0);
    [a1, a2, a3].forEach(assertResolved);
    h.assertIdle();
  });

  it('lets a lane take the last process once the other lane has been idle for ACTIVE_LANE_MS', async (t) => {
    const h = new Harness(t, 2);
    const a1 = h.submit('A'); // slow, on process 0
    const b1 = h.submit('B');
    const a2 = h.submit('A');
    await h.answer(1);
    assertResolved(b1);
    assert.equal(h.port.running(1), undefined);
    // Nothing else happens: B's claim on process 1 lapses, and A's waiting work should get it.
    await h.clock.advance(ACTIVE_LANE_MS + 1);
    assert.equal(h.port.running(1)?.request, a2.request, 'process 1 stayed idle while A had work waiting');
    await h.answer(0);
    await h.answer(1);
    [a1, a2].forEach(assertResolved);
    h.assertIdle();
  });

  it('lets a lane alone use every process', async (t) => {
    const h = new Harness(t, 3);
    const items = [h.submit('A'), h.submit('A'), h.submit('A')];
    await flush();
    assert.deepEqual(
      h.port.sent.map((s) => [s.index, idsOf(s.request)[0]]),
      items.map((item, index) => [index, item.id]),
    );
    for (let index = 0; index < 3; index++) await h.answer(index);
    items.forEach(assertResolved);
    h.assertIdle();
  });

  it('lets a lane take all processes but one while another lane has work waiting', async (t) => {
    const h = new Harness(t, 3);
    const a = [h.submit('A'), h.submit('A'), h.submit('A')];
    await flush();
    assert.equal(h.port.sent.length, 3);
    await h.answer(2);
    const b1 = h.submit('B');
    const a4 = h.submit('A');
    assert.equal(h.running(2).request, b1.request);
    await h.answer(0);
    assert.equal(h.running(0).request, a4.request);
    // A runs on 0 and 1, B has just run: a fifth A waits for one of A's processes.
    const a5 = h.submit('A');
    await h.answer(2);
    assertResolved(b1);
    assert.equal(h.port.running(2), undefined);
    await h.answer(1);
    assert.equal(h.running(1).request, a5.request);
    await h.answer(0);
    await h.answer(1);
    [...a, a4, a5].forEach(assertResolved);
    h.assertIdle();
  });
});

describe('Scheduler: dynamic batching', () => {
  const settings = (over: Partial<BatchSettings> = {}): BatchSettings => ({
    maxBatchSize: 4,
    maxQueueDelayMs: 10,
    preferredBatchSizes: [],
    ...over,
  });

  it('sends work with the same key within maxQueueDelayMs as one run of stacked feeds', async (t) => {
    const h = new Harness(t, 1);
    const batch = { key: 'k', settings: settings() };
    const m1 = h.submit('M', { batch, rows: 1, width: 2 });
    await h.clock.advance(4);
    const m2 = h.submit('M', { batch, rows: 2, width: 2 });
    await h.clock.advance(5);
    assert.equal(h.port.sent.length, 0, 'sent before maxQueueDelayMs');
    await h.clock.advance(1);
    assert.equal(h.port.sent.length, 1);

    const sent = h.port.sent[0].request as RunRequest;
    const x = sent.feeds.x as Feed;
    assert.deepEqual(x.dims, [3, 2]);
    assert.ok(x.data instanceof Float64Array);
    assert.deepEqual([...x.data], [1, 1, 2, 2, 2, 2]);
    assert.equal(x.declared, 'float32');
    assert.deepEqual(Object.keys(sent.feeds), ['x']);
    assert.deepEqual(sent.rows, [1, 2]);
    assert.equal(sent.type, 'run');
    assert.deepEqual(sent.model, m1.request.model);
    assert.deepEqual(sent.outputs, ['y']);
    assert.deepEqual(h.runs, [{ model: 'M', size: 2 }]);

    await h.answer(0);
    assertResolved(m1);
    assertResolved(m2);
    h.assertIdle();
  });

  it('sends a batch at once when it reaches maxBatchSize', async (t) => {
    const h = new Harness(t, 1);
    const batch = { key: 'k', settings: settings({ maxBatchSize: 4 }) };
    const m = [h.submit('M', { batch }), h.submit('M', { batch }), h.submit('M', { batch, rows: 2 })];
    await flush();
    assert.deepEqual(h.sentIds(), [m.map((item) => item.id)]);
    assert.deepEqual((h.port.sent[0].request as RunRequest).rows, [1, 1, 2]);
    await h.answer(0);
    m.forEach(assertResolved);
    h.assertIdle();
  });

  it('leaves work that would pass maxBatchSize for the next run', async (t) => {
    const h = new Harness(t, 1);
    const batch = { key: 'k', settings: settings({ maxBatchSize: 4 }) };
    const m1 = h.submit('M', { batch, rows: 3 });
    const m2 = h.submit('M', { batch, rows: 2 });
    await h.clock.advance(10);
    assert.deepEqual(h.sentIds(), [[m1.id]]);
    assert.equal(h.port.sent[0].request, m1.request, 'a run of one is the work’s own request');
    await h.answer(0);
    assert.deepEqual(h.sentIds(), [[m1.id], [m2.id]]);
    await h.answer(0);
    [m1, m2].forEach(assertResolved);
    h.assertIdle();
  });

  it('sends a batch at once when it reaches a preferred size', async (t) => {
    const h = new Harness(t, 1);
    const batch = { key: 'k', settings: settings({ maxBatchSize: 8, preferredBatchSizes: [2] }) };
    const m1 = h.submit('M', { batch });
    assert.equal(h.port.sent.length, 0);
    const m2 = h.submit('M', { batch });
    const m3 = h.submit('M', { batch });
    await flush();
    assert.deepEqual(h.sentIds(), [[m1.id, m2.id]]);
    await h.answer(0);
    assert.equal(h.sentIds().length, 1, 'the third waits for more, or for its delay');
    await h.clock.advance(10);
    assert.deepEqual(h.sentIds(), [[m1.id, m2.id], [m3.id]]);
    await h.answer(0);
    [m1, m2, m3].forEach(assertResolved);
    h.assertIdle();
  });

  it('never puts work with different keys in one run', async (t) => {
    const h = new Harness(t, 1);
    const one = { key: 'one', settings: settings() };
    const two = { key: 'two', settings: settings() };
    const m = [h.submit('M', { batch: one }), h.submit('M', { batch: two, width: 2 })];
    m.push(h.submit('M', { batch: one }), h.submit('M', { batch: two, width: 2 }));
    await h.clock.advance(10);
    await h.answer(0);
    await h.answer(0);
    assert.deepEqual(h.sentIds(), [
      [m[0].id, m[2].id],
      [m[1].id, m[3].id],
    ]);
    m.forEach(assertResolved);
    h.assertIdle();
  });

  const memberFailures: [string, (port: FakePort) => void][] = [
    ['InvalidInputError', (port) => port.fail(0, new InvalidInputError('bad member'))],
    ['InferenceFailedError', (port) => port.fail(0, new InferenceFailedError('reshape failed', 'raw'))],
    ['OutputTooLargeError', (port) => port.fail(0, new OutputTooLargeError('too large'))],
    ['outputs that do not split back (null)', (port) => port.answer(0, { ...TIMES, outputs: null })],
  ];
  for (const [name, failBatch] of memberFailures) {
    it(`re-runs a batch member by member after ${name}; each member gets its own answer`, async (t) => {
      const h = new Harness(t, 1);
      const batch = { key: 'k', settings: settings({ maxBatchSize: 3 }) };
      const m = [h.submit('M', { batch }), h.submit('M', { batch }), h.submit('M', { batch })];
      await flush();
      assert.deepEqual(h.sentIds(), [m.map((item) => item.id)]);
      failBatch(h.port);
      await flush();
      assertPending(...m);

      assert.equal(h.running(0).request, m[0].request);
      await h.answer(0);
      assert.equal(h.running(0).request, m[1].request);
      const own = new InvalidInputError('member 2 is bad');
      h.port.fail(0, own);
      await flush();
      assert.equal(h.running(0).request, m[2].request);
      await h.answer(0);

      assertResolved(m[0]);
      assert.equal(assertRejected(m[1], InvalidInputError), own);
      assertResolved(m[2]);
      assert.deepEqual(
        h.runs.map((r) => r.size),
        [3, 1, 1, 1],
      );
      h.assertIdle();
    });
  }

  it('fails every member with 503 when the batch’s process dies, and runs none again', async (t) => {
    const h = new Harness(t, 1);
    const batch = { key: 'k', settings: settings({ maxBatchSize: 2 }) };
    const m = [h.submit('M', { batch }), h.submit('M', { batch })];
    await flush();
    h.port.crash(0);
    await flush();
    m.forEach((item) => assertRejected(item, UnavailableError));
    h.port.restart(0);
    assert.equal(h.port.sent.length, 1);
    h.assertIdle();
  });

  it('ends every member of a running batch with 504 at one member’s deadline, with one kill', async (t) => {
    const h = new Harness(t, 1, { exitOnKill: true });
    const batch = { key: 'k', settings: settings({ maxBatchSize: 2 }) };
    const m1 = h.submit('M', { batch, deadlineIn: 30 });
    const m2 = h.submit('M', { batch });
    await h.clock.advance(30);
    [m1, m2].forEach((item) => assertRejected(item, TimeoutError));
    assert.equal(h.port.kills.length, 1);
    h.port.restart(0);
    h.assertIdle();
  });

  it('ends work waiting for its batch at its deadline', async (t) => {
    const h = new Harness(t, 1);
    const batch = { key: 'k', settings: settings({ maxQueueDelayMs: 100 }) };
    const m1 = h.submit('M', { batch, deadlineIn: 20 });
    const m2 = h.submit('M', { batch });
    await h.clock.advance(20);
    assertRejected(m1, TimeoutError, /did not start/);
    assert.equal(h.port.sent.length, 0);
    await h.clock.advance(100);
    assert.deepEqual(h.sentIds(), [[m2.id]]);
    await h.answer(0);
    assertResolved(m2);
    h.assertIdle();
  });
});

/** Works whose id is a multiple of this are bad data: the process rejects any run that holds one. */
const BAD_EVERY = 7;
const MAX_QUEUE_A = 3;
const BATCH: BatchSettings = { maxBatchSize: 4, maxQueueDelayMs: 8, preferredBatchSizes: [3] };

/**
 * One random run: submissions to four lanes (A bounded by maxQueue, B plain, M batchable with two
 * keys, a model-less lane), answers, bad data, crashes, deadlines with kills, slow exits and
 * restarts, in virtual time. Checks after every step, then drains everything and checks the end.
 */
async function randomRun(t: TestContext, seed: number, failSendOn: 'kill' | 'exit'): Promise<void> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const h = new Harness(t, 1 + Math.floor(random() * 3), { failSendOn });
  const where = `seed ${seed}, send rejected at ${failSendOn}`;
  const byId = (id: number): Item => h.items[id - 1];
  /** Works whose process crashed under them. */
  const crashed = new Set<number>();

  const answer = (index: number): void => {
    const sent = h.port.running(index) as SentRequest;
    const ids = idsOf(sent.request);
    if (ids.some((id) => id % BAD_EVERY === 0)) h.port.fail(index, new InvalidInputError(`bad ${ids.join(',')}`));
    else if (ids.length > 1 && random() < 0.15) h.port.answer(index, { ...TIMES, outputs: null });
    else h.port.answer(index, outcomeFor(ids));
  };
  const slots = (state: string, busy?: boolean): number[] =>
    [...Array(h.port.size).keys()].filter(
      (i) => h.port.state(i) === state && (busy === undefined || (h.port.running(i) !== undefined) === busy),
    );

  const check = (): void => {
    assert.deepEqual(h.port.misuse, [], where);
    for (const item of h.items) {
      assert.ok(item.work.calls <= 1, `${where}: work ${item.id} settled ${item.work.calls} times`);
      if (!item.work.outcome) {
        assert.ok(item.deadline > h.clock.now, `${where}: work ${item.id} outlived its deadline`);
      }
    }
    // Works of killed processes that have not exited still count; settled ones do not.
    const heldByKill = new Set<number>();
    for (const index of slots('killing')) {
      const kill = h.port.kills.findLast((k) => k.index === index);
      if (kill?.request) idsOf(kill.request.request).forEach((id) => heldByKill.add(id));
    }
    const expected: Record<string, number> = {};
    for (const item of h.items) {
      if (item.work.outcome && !heldByKill.has(item.id)) continue;
      expected[item.lane] = (expected[item.lane] ?? 0) + 1;
    }
    assert.deepEqual([...h.scheduler.busyLanes()].sort(), Object.keys(expected).sort(), `${where}: busyLanes`);
    delete expected.jobs;
    assert.deepEqual(h.depth(), expected, `${where}: depthByModel`);
    assert.ok((expected.A ?? 0) <= MAX_QUEUE_A, where);
    for (const sent of h.port.sent) {
      const ids = idsOf(sent.request);
      const rows = (sent.request as RunRequest).rows;
      if (ids.length > 1) {
        const width = ((sent.request as RunRequest).feeds.x as Feed).dims[1];
        assert.ok(
          ids.every((id) => byId(id).lane === 'M' && (byId(id).request.feeds.x as Feed).dims[1] === width),
          `${where}: a run mixed lanes or keys`,
        );
        assert.ok((rows ?? []).reduce((n, r) => n + r, 0) <= BATCH.maxBatchSize, where);
      }
    }
  };

  for (let step = 0; step < 300; step++) {
    const roll = random();
    if (roll < 0.35) {
      const lane = pick(['A', 'B', 'M', 'M', 'jobs']);
      const key = pick(['k1', 'k2']);
      h.submit(lane, {
        deadlineIn: 1 + Math.floor(random() * 150),
        maxQueue: lane === 'A' ? MAX_QUEUE_A : undefined,
        model: lane === 'jobs' ? null : lane,
        batch: lane === 'M' ? { key, settings: BATCH } : undefined,
        rows: lane === 'M' ? 1 + Math.floor(random() * 2) : 1,
        width: key === 'k1' ? 1 : 2,
      });
    } else if (roll < 0.6) {
      const busy = slots('ready', true);
      if (busy.length > 0) answer(pick(busy));
    } else if (roll < 0.64) {
      const live = slots('ready');
      if (live.length > 0) {
        const index = pick(live);
        const running = h.port.running(index);
        if (running) idsOf(running.request).forEach((id) => crashed.add(id));
        h.port.crash(index);
      }
    } else if (roll < 0.72) {
      const killing = slots('killing');
      if (killing.length > 0) h.port.exit(pick(killing));
    } else if (roll < 0.8) {
      const down = slots('down');
      if (down.length > 0) h.port.restart(pick(down));
    } else {
      await h.clock.advance(1 + Math.floor(random() * 20));
    }
    await flush();
    check();
  }

  // Drain: every process comes back and answers, time runs until nothing is left.
  for (let round = 0; round < 10_000 && h.items.some((item) => !item.work.outcome); round++) {
    for (const index of slots('killing')) h.port.exit(index);
    for (const index of slots('down')) h.port.restart(index);
    for (const index of slots('ready', true)) answer(index);
    await h.clock.advance(1);
    check();
  }
  for (const index of slots('killing')) h.port.exit(index);
  for (const index of slots('ready', true)) answer(index);
  await flush();

  const killed = new Set<number>();
  for (const kill of h.port.kills) if (kill.request) idsOf(kill.request.request).forEach((id) => killed.add(id));
  const sentIds = new Set(h.sentIds().flat());
  for (const item of h.items) {
    const outcome = item.work.outcome;
    assert.ok(outcome, `${where}: work ${item.id} never settled`);
    if (outcome.ok) {
      assert.deepEqual(outcome.value, expectedFor(item.id), `${where}: work ${item.id} got another's answer`);
      continue;
    }
    const { error } = outcome;
    if (error instanceof TooManyRequestsError) {
      assert.equal(item.lane, 'A', where);
      assert.ok(!sentIds.has(item.id), `${where}: work ${item.id} got 429 after it was sent`);
    } else if (error instanceof TimeoutError) {
      const early = (item.work.settledAt as number) < item.deadline;
      assert.ok(!early || killed.has(item.id), `${where}: work ${item.id} got 504 before its deadline`);
    } else if (error instanceof UnavailableError) {
      assert.ok(crashed.has(item.id), `${where}: work ${item.id} got 503 without a crash`);
    } else {
      assert.ok(error instanceof InvalidInputError, `${where}: work ${item.id}: ${String(error)}`);
      assert.equal(item.id % BAD_EVERY, 0, `${where}: work ${item.id} got another member's 400`);
    }
  }
  h.assertIdle();
}

describe('Scheduler: close (shutdown)', () => {
  it('ends waiting work with 503 at once, lets running work finish, and refuses new work', async (t) => {
    const h = new Harness(t, 1);
    const a1 = h.submit('A');
    const a2 = h.submit('A');
    const b1 = h.submit('B');
    await flush();
    assert.deepEqual(h.sentIds(), [[a1.id]]);
    h.scheduler.close();
    await flush();
    assertRejected(a2, UnavailableError, /shutting down/);
    assertRejected(b1, UnavailableError, /shutting down/);
    assertPending(a1);
    assert.deepEqual(h.depth(), { A: 1 }, 'the running work still counts');

    const late = h.submit('A');
    await flush();
    assertRejected(late, UnavailableError, /shutting down/);

    await h.answer(0);
    assertResolved(a1);
    assert.deepEqual(h.sentIds(), [[a1.id]], 'nothing was sent after the close');
    h.assertIdle();
  });

  it('ends the members of a batch that failed on data during the close, instead of queueing them again', async (t) => {
    const h = new Harness(t, 1);
    const batch = { key: 'k', settings: { maxBatchSize: 2, maxQueueDelayMs: 10, preferredBatchSizes: [] } };
    const m = [h.submit('M', { batch }), h.submit('M', { batch })];
    await flush();
    assert.deepEqual(h.sentIds(), [[m[0].id, m[1].id]]);
    h.scheduler.close();
    h.port.fail(0, new InvalidInputError('one member is bad'));
    await flush();
    for (const item of m) assertRejected(item, UnavailableError, /shutting down/);
    assert.equal(h.port.sent.length, 1);
    h.assertIdle();
  });

  it('clears a batch’s wake-up: no timer outlives the close', async (t) => {
    const h = new Harness(t, 1);
    const batch = { key: 'k', settings: { maxBatchSize: 4, maxQueueDelayMs: 50, preferredBatchSizes: [] } };
    const m1 = h.submit('M', { batch });
    await flush();
    assert.equal(h.port.sent.length, 0, 'waits for more members');
    assert.ok(h.clock.timers > 0);
    h.scheduler.close();
    await flush();
    assertRejected(m1, UnavailableError);
    h.assertIdle();
  });
});

describe('Scheduler: random submissions, answers, crashes, kills and deadlines', () => {
  for (const failSendOn of ['exit', 'kill'] as const) {
    it(`ends every work exactly once and leaves nothing behind (send rejected at ${failSendOn})`, async (t) => {
      for (let seed = 1; seed <= 25; seed++) {
        // A fresh mock per seed: each run builds its own harness in a subtest.
        await t.test(`seed ${seed}`, (sub) => randomRun(sub, seed, failSendOn));
      }
    });
  }
});

describe('Scheduler: background work', () => {
  it('is sent only when no other work waits, and never takes the last free process', async (t) => {
    const h = new Harness(t, 2);
    const s1 = h.submit('S', { background: true });
    const s2 = h.submit('S', { background: true });
    await flush();
    assert.deepEqual(h.sentIds(), [[s1.id]], 'one process stays free for work somebody waits for');
    const a1 = h.submit('A');
    const a2 = h.submit('A');
    await flush();
    assert.deepEqual(h.sentIds(), [[s1.id], [a1.id]]);

    await h.answer(0);
    assertResolved(s1);
    assert.equal(h.running(0).request, a2.request, 'waiting served work goes before waiting background work');
    await h.answer(1);
    assertResolved(a1);
    assert.equal(h.running(1).request, s2.request, 'background work runs once nothing else waits');
    await h.answer(0);
    await h.answer(1);
    [a2, s2].forEach(assertResolved);
    h.assertIdle();
  });

  it('ends with NotStartedError (a 504) when served work keeps every process busy until its deadline', async (t) => {
    const h = new Harness(t, 1);
    const a1 = h.submit('A');
    const s1 = h.submit('S', { background: true, deadlineIn: 50 });
    const a2 = h.submit('A');
    await flush();
    await h.answer(0);
    assert.equal(h.running(0).request, a2.request, 'served work goes first');
    await h.clock.advance(50);
    assertRejected(s1, NotStartedError, /did not start/);
    await h.answer(0);
    [a1, a2].forEach(assertResolved);
    h.assertIdle();
  });

  it('is bounded by its own lane: past maxQueue it is refused at once (429), served work unaffected', async (t) => {
    const h = new Harness(t, 1);
    const s1 = h.submit('S', { background: true, maxQueue: 1 });
    const s2 = h.submit('S', { background: true, maxQueue: 1 });
    const a1 = h.submit('A', { maxQueue: 1 });
    await flush();
    assertRejected(s2, TooManyRequestsError);
    await h.answer(0);
    await h.answer(0);
    [s1, a1].forEach(assertResolved);
    h.assertIdle();
  });
});

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { FakePool, flush, VirtualClock, type PoolSend } from '../../test/support/fake-inference-port';
import { provideFake } from '../../test/support/nest-fakes';
import { InvalidInputError, TimeoutError, TooManyRequestsError, UnavailableError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import type { TensorSpec } from './tensor-spec';
import { ArtifactStore } from '../storage/artifact-store';
import { deadlineIn, InferenceService, type PredictableModel } from './inference.service';
import { InferencePool, type PoolRequest } from './process-pool';
import type { LooseInputs } from './tensor-codec';
import type { RunOutcome } from './worker/protocol';

type RunRequest = Extract<PoolRequest, { type: 'run' }>;

const TIMES = { validateMs: 1, inferenceMs: 1, encodeMs: 1 };

/** What the service reads of the configuration, and nothing else (the fake is strict). */
const CONFIG = {
  inferenceWorkers: 2,
  intraOpThreads: 1,
  shutdownGraceMs: 5_000,
  warmupMaxElements: 1_000,
  maxTensorElements: 1_000_000,
  inferenceMaxQueue: 8,
  inferenceTimeoutMs: 40,
  maxLoadedVersions: 8,
  inferenceMemoryBudgetBytes: 0,
  inferenceLoad: 'eager' as 'eager' | 'lazy',
};

/** The flat test settings as the grouped AppConfig the service reads. */
function nested(settings: typeof CONFIG): Partial<AppConfig> {
  return {
    shutdown: { graceMs: settings.shutdownGraceMs } as AppConfig['shutdown'],
    inference: {
      workers: settings.inferenceWorkers,
      intraOpThreads: settings.intraOpThreads,
      warmupMaxElements: settings.warmupMaxElements,
      maxTensorElements: settings.maxTensorElements,
      maxQueue: settings.inferenceMaxQueue,
      timeoutMs: settings.inferenceTimeoutMs,
      maxLoadedVersions: settings.maxLoadedVersions,
      memoryBudgetBytes: settings.inferenceMemoryBudgetBytes,
      load: settings.inferenceLoad,
    } as AppConfig['inference'],
  };
}

/** A settled-or-not view of a promise: `outcome` is set once, when it settles. */
interface Tracked<T> {
  outcome?: { ok: true; value: T } | { ok: false; error: Error };
  settlements: number;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { settlements: 0 };
  promise.then(
    (value) => {
      tracked.settlements++;
      tracked.outcome = { ok: true, value };
    },
    (error: Error) => {
      tracked.settlements++;
      tracked.outcome = { ok: false, error };
    },
  );
  return tracked;
}

function rejected<T>(tracked: Tracked<T>, type: new (...args: never[]) => Error, message?: RegExp): Error {
  const outcome = tracked.outcome;
  assert.ok(outcome, 'still pending');
  assert.ok(!outcome.ok, 'resolved');
  assert.ok(outcome.error instanceof type, `expected ${type.name}, got ${String(outcome.error)}`);
  if (message) assert.match(outcome.error.message, message);
  return outcome.error;
}

function succeeded(tracked: Tracked<unknown>): void {
  const outcome = tracked.outcome;
  assert.ok(outcome, 'still pending');
  assert.ok(outcome.ok, `rejected: ${outcome.ok ? '' : String(outcome.error)}`);
}

function resolvedWith<T>(tracked: Tracked<T>, value: T): void {
  const outcome = tracked.outcome;
  assert.ok(outcome, 'still pending');
  assert.ok(outcome.ok, `rejected: ${outcome.ok ? '' : String(outcome.error)}`);
  assert.deepEqual(outcome.value, value);
}

const SIGNATURE: TensorSpec[] = [{ name: 'x', dtype: 'float32', shape: [-1, 2] }];
const OUTPUTS: TensorSpec[] = [{ name: 'y', dtype: 'float32', shape: [-1, 1] }];

function model(name: string, over: Partial<PredictableModel> = {}): PredictableModel {
  return {
    name,
    sha256: `sha-${name}`,
    storageKey: `key-${name}`,
    sizeBytes: 100,
    inputs: SIGNATURE,
    outputs: OUTPUTS,
    ...over,
  };
}

function rows(n: number, value = 1): LooseInputs {
  return { x: { dims: [n, 2], data: new Float64Array(n * 2).fill(value) } };
}

/** InferenceService in a Nest testing module, on a FakePool, with strict fakes of its config and store. */
class Engine {
  readonly pool: FakePool;
  readonly clock: VirtualClock;
  readonly tracked: Tracked<unknown>[] = [];
  readonly warnings: unknown[] = [];
  readonly errors: unknown[] = [];
  readonly restarts: unknown[] = [];
  readonly batches: unknown[] = [];
  readonly droppedCopies: string[] = [];
  service!: InferenceService;
  moduleRef!: TestingModule;

  private constructor(t: TestContext, workers: number) {
    this.clock = new VirtualClock(t);
    this.pool = new FakePool(workers);
    t.mock.method(Logger.prototype, 'log', () => undefined);
    t.mock.method(Logger.prototype, 'warn', (entry: unknown) => this.warnings.push(entry));
    t.mock.method(Logger.prototype, 'error', (entry: unknown) => this.errors.push(entry));
  }

  static async start(
    t: TestContext,
    config: Partial<typeof CONFIG> = {},
    options: { whenReady?: boolean } = {},
  ): Promise<Engine> {
    const settings = { ...CONFIG, ...config };
    const engine = new Engine(t, settings.inferenceWorkers);
    if (options.whenReady === false) engine.pool.whenReady = () => Promise.resolve(false);
    engine.moduleRef = await Test.createTestingModule({
      providers: [
        InferenceService,
        provideFake(AppConfig, nested(settings)),
        provideFake(ArtifactStore, {
          localPath: (key: string) => Promise.resolve(`/artifacts/${key}`),
          dropLocalCopy: (sha256: string) => {
            engine.droppedCopies.push(sha256);
            return Promise.resolve();
          },
        }),
        { provide: InferencePool, useValue: engine.pool },
      ],
    }).compile();
    engine.moduleRef.useLogger(false);
    await engine.moduleRef.init();
    engine.service = engine.moduleRef.get(InferenceService);
    engine.service.events.on('restart', (event) => engine.restarts.push(event));
    engine.service.events.on('batch', (event) => engine.batches.push(event));
    return engine;
  }

  predict(m: PredictableModel, inputs: LooseInputs = rows(1), deadlineMs = 60_000): Tracked<RunOutcome> {
    return this.follow(this.service.predict(m, inputs, undefined, deadlineIn(deadlineMs)));
  }

  follow<T>(promise: Promise<T>): Tracked<T> {
    const tracked = track(promise);
    this.tracked.push(tracked as Tracked<unknown>);
    return tracked;
  }

  /** Answers a run with one output per stacked member (or one for a single request). */
  answerRun(send: PoolSend, outputs?: string[]): RunOutcome {
    const run = send.request as RunRequest;
    const outcome = { ...TIMES, outputs: outputs ?? (run.rows ?? [1]).map((_, i) => `out-${i}`) };
    this.pool.answer(send, outcome);
    return outcome;
  }

  /** Every request ended exactly once; nothing is left in the scheduler, the pool or the timers. */
  assertIdle(): void {
    for (const [i, tracked] of this.tracked.entries()) {
      assert.ok(tracked.outcome, `request ${i} never ended`);
      assert.equal(tracked.settlements, 1);
    }
    const status = this.service.status();
    assert.equal(status.queued, 0, 'work left waiting');
    assert.deepEqual(status.queueDepth, {}, 'work left counted');
    assert.equal(status.inFlight, 0, 'sends left in the pool');
    assert.deepEqual(this.pool.pending(), []);
    assert.equal(this.clock.timers, 0, 'timers left behind');
  }
}

describe('InferenceService: a request ends exactly once and leaves nothing behind', () => {
  it('success: one run with the stored model’s path, the signature and the inputs', async (t) => {
    const e = await Engine.start(t);
    assert.equal(e.pool.started, true);
    const inputs = rows(1, 3);
    const work = e.predict(model('iris'), inputs);
    await flush();
    const send = e.pool.next();
    assert.deepEqual(send.request, {
      type: 'run',
      model: { sha256: 'sha-iris', path: '/artifacts/key-iris' },
      feeds: inputs,
      signature: SIGNATURE,
      outputs: undefined,
    });
    assert.deepEqual(e.service.status().queueDepth, { iris: 1 });
    const outcome = e.answerRun(send);
    await flush();
    resolvedWith(work, outcome);
    assert.deepEqual(e.batches, [{ model: 'iris', size: 1 }]);
    assert.equal(e.service.isLoaded('sha-iris'), true);
    e.assertIdle();
  });

  it('failure: the process’s error reaches the caller as it is', async (t) => {
    const e = await Engine.start(t);
    const work = e.predict(model('iris'));
    await flush();
    const error = new InvalidInputError('x: expected 2 values per row');
    e.pool.fail(e.pool.next(), error);
    await flush();
    assert.equal(rejected(work, InvalidInputError), error);
    e.assertIdle();
  });

  it('deadline: 504, and the process running it is killed', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1 });
    const running = e.predict(model('slow'), rows(1), 30);
    const waiting = e.predict(model('slow'), rows(1), 20);
    await flush();
    assert.equal(e.pool.pending().length, 1);
    await e.clock.advance(20);
    rejected(waiting, TimeoutError, /did not start/);
    assert.deepEqual(e.pool.kills, []);
    await e.clock.advance(10);
    rejected(running, TimeoutError, /did not finish/);
    assert.deepEqual(e.pool.kills, [{ index: 0, reason: 'timeout' }]);
    assert.deepEqual(e.restarts, [{ reason: 'timeout' }]);
    e.assertIdle();
  });

  it('process crash: 503 for what it ran; the replacement gets the loaded models again', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1 });
    const first = e.predict(model('a'));
    await flush();
    e.answerRun(e.pool.next());
    const second = e.predict(model('b'));
    await flush();
    e.pool.crash(0);
    await flush();
    rejected(second, UnavailableError);
    assert.deepEqual(e.restarts, [{ reason: 'crash' }]);

    e.pool.restart(0);
    await flush();
    const reloads = e.pool.pending(0).map((s) => s.request);
    assert.deepEqual(reloads, [{ type: 'load', model: { sha256: 'sha-a', path: '/artifacts/key-a' } }]);
    e.pool.answer(e.pool.next(), { loaded: true });
    await flush();
    assert.deepEqual(
      e.pool.pending(0).map((s) => s.request.type),
      ['load'],
    );
    e.pool.answer(e.pool.next(), { loaded: true });
    await flush();
    succeeded(first);
    e.assertIdle();
  });

  it('a reload that fails after a restart is logged, and the next model is still loaded', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1 });
    for (const name of ['a', 'b']) {
      const work = e.predict(model(name));
      await flush();
      e.answerRun(e.pool.next());
      await flush();
      succeeded(work);
    }
    e.pool.crash(0);
    e.pool.restart(0);
    await flush();
    e.pool.fail(e.pool.next(), new Error('model file gone'));
    await flush();
    assert.deepEqual(e.warnings, [
      { msg: 'reload after a process restart failed', sha256: 'sha-a', err: 'model file gone' },
    ]);
    const next = e.pool.next();
    assert.deepEqual(next.request, { type: 'load', model: { sha256: 'sha-b', path: '/artifacts/key-b' } });
    e.pool.answer(next, {});
    await flush();
    e.assertIdle();
  });

  it('INFERENCE_LOAD=lazy: a replacement process loads nothing until asked', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1, inferenceLoad: 'lazy' });
    const work = e.predict(model('a'));
    await flush();
    e.answerRun(e.pool.next());
    e.pool.crash(0);
    e.pool.restart(0);
    await flush();
    assert.deepEqual(e.pool.pending(), []);
    succeeded(work);
    e.assertIdle();
  });

  it('a full lane: 429 without a send', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1, inferenceMaxQueue: 2 });
    const [a, b, c] = [e.predict(model('m')), e.predict(model('m')), e.predict(model('m'))];
    await flush();
    rejected(c, TooManyRequestsError);
    assert.equal(e.pool.sends.length, 1);
    e.answerRun(e.pool.next());
    await flush();
    e.answerRun(e.pool.next());
    await flush();
    succeeded(a);
    succeeded(b);
    assert.equal(e.pool.sends.length, 2);
    e.assertIdle();
  });

  it('shutdown: waiting work ends with 503 at once, running work finishes, then the pool stops', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1 });
    const running = e.predict(model('m'));
    const waiting = e.predict(model('m'));
    await flush();
    const closed = e.follow(e.moduleRef.close());
    await flush();
    rejected(waiting, UnavailableError, /shutting down/);
    assert.equal(running.outcome, undefined);
    assert.deepEqual(e.pool.stopping, { graceMs: CONFIG.shutdownGraceMs });
    assert.equal(closed.outcome, undefined, 'the stop waits for the running request');
    const outcome = e.answerRun(e.pool.next());
    await flush();
    resolvedWith(running, outcome);
    succeeded(closed);

    const late = e.predict(model('m'));
    await flush();
    rejected(late, UnavailableError, /shutting down/);
    e.assertIdle();
  });

  it('shutdown past the grace period: what still runs fails with 503 as its process ends', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 2 });
    const works = [e.predict(model('a')), e.predict(model('b'))];
    await flush();
    const closed = e.follow(e.moduleRef.close());
    await flush();
    e.pool.stopped();
    await flush();
    for (const work of works) rejected(work, UnavailableError);
    succeeded(closed);
    e.assertIdle();
  });

  it('a process that never answers a model-less message: 504 at INFERENCE_TIMEOUT_MS', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1 });
    const parsed = e.follow(e.service.parseJob(new Uint8Array([123, 125])));
    await flush();
    assert.deepEqual(e.pool.next().request, { type: 'parseJob', body: new Uint8Array([123, 125]) });
    await e.clock.advance(CONFIG.inferenceTimeoutMs);
    rejected(parsed, TimeoutError);
    assert.deepEqual(e.pool.kills, [{ index: 0, reason: 'timeout' }]);
    e.assertIdle();
  });
});

describe('InferenceService: model-less work', () => {
  it('inspect, decode, parseJob and encodeInstances each send their message and return the answer', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1 });
    const body = new Uint8Array([1, 2, 3]);
    const limits = { maxInstanceElements: 10, maxInstanceBytes: 100 } as never;
    const calls: [Promise<unknown>, unknown][] = [
      [
        e.service.inspect({ sha256: 'new', tempPath: '/staging/new', sizeBytes: 3 }),
        {
          type: 'inspect',
          model: { sha256: 'new', path: '/staging/new' },
          warmupMaxElements: CONFIG.warmupMaxElements,
        },
      ],
      [e.service.decode(body, deadlineIn(1_000)), { type: 'decode', body, maxElements: CONFIG.maxTensorElements }],
      [e.service.parseJob(body), { type: 'parseJob', body }],
      [
        e.service.encodeInstances({ body }, SIGNATURE, limits),
        { type: 'encodeInstances', source: { body }, signature: SIGNATURE, limits },
      ],
    ];
    for (const [i, [promise, request]] of calls.entries()) {
      const tracked = e.follow(promise);
      await flush();
      const send = e.pool.next();
      assert.deepEqual(send.request, request);
      e.pool.answer(send, { answer: i });
      await flush();
      resolvedWith(tracked, { answer: i });
    }
    assert.deepEqual(e.service.status().queueDepth, {}, 'model-less lanes are not models');
    e.assertIdle();
  });

  it('runEncoded runs typed feeds in the model’s lane with the rows to split by', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1 });
    const feeds = { x: { type: 'float32', dims: [2, 2], data: new Float32Array(4) } } as never;
    const work = e.follow(e.service.runEncoded(model('jobs-model'), feeds, [1, 1], deadlineIn(1_000)));
    await flush();
    const send = e.pool.next();
    assert.deepEqual(send.request, {
      type: 'run',
      model: { sha256: 'sha-jobs-model', path: '/artifacts/key-jobs-model' },
      feeds,
      rows: [1, 1],
    });
    const outcome = e.answerRun(send, ['[1]', '[2]']);
    await flush();
    resolvedWith(work, outcome);
    e.assertIdle();
  });
});

describe('InferenceService: loaded models', () => {
  it('load and unload go to every ready process; status() counts versions and bytes', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 3 });
    e.pool.crash(2);
    const loaded = e.follow(e.service.load(model('m', { sizeBytes: 250 })));
    await flush();
    assert.deepEqual(
      e.pool.pending().map((s) => [s.index, s.request]),
      [0, 1].map((i) => [i, { type: 'load', model: { sha256: 'sha-m', path: '/artifacts/key-m' } }]),
    );
    assert.equal(loaded.outcome, undefined, 'waits for every process');
    for (const send of e.pool.pending()) e.pool.answer(send, {});
    await flush();
    succeeded(loaded);
    const status = e.service.status();
    assert.equal(status.loadedVersions, 1);
    assert.equal(status.loadedBytes, 250);
    assert.equal(status.alive, 2);
    assert.equal(status.restarts, 1);
    assert.equal(status.workers, 3);
    assert.deepEqual(
      status.processes,
      [0, 1, 2].map((index) => ({ index, pid: 1000 + index })),
    );

    const unloaded = e.follow(e.service.unload('sha-m'));
    await flush();
    assert.deepEqual(
      e.pool.pending().map((s) => s.request),
      [0, 1].map(() => ({ type: 'unload', sha256: 'sha-m' })),
    );
    e.pool.fail(e.pool.next(), new UnavailableError('process gone'));
    await flush();
    rejected(unloaded, UnavailableError);
    e.pool.answer(e.pool.next(), {});
    await flush();
    assert.equal(e.service.isLoaded('sha-m'), false);
    e.assertIdle();
  });

  it('model.changed: released artifacts are unloaded; local copies dropped only for another replica’s write', async (t) => {
    const e = await Engine.start(t);
    const event = { model: 'm', kind: 'version-deleted' as const, servingChanged: true, released: ['sha-x'] };
    for (const fromReplica of [undefined, true] as const) {
      const changed = e.follow(e.service.onModelChanged({ ...event, fromReplica }));
      await flush();
      for (const send of e.pool.pending()) e.pool.answer(send, {});
      await flush();
      succeeded(changed);
    }
    assert.deepEqual(e.droppedCopies, ['sha-x'], 'the writer’s store already removed its own copy');
    e.assertIdle();
  });

  it('past MAX_LOADED_VERSIONS, unloads the least recently used model that has no work', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1, maxLoadedVersions: 2 });
    const run = async (name: string) => {
      const work = e.predict(model(name));
      await flush();
      e.answerRun(e.pool.pending().find((s) => s.request.type === 'run') as PoolSend);
      await flush();
      succeeded(work);
    };
    await run('a');
    await run('b');
    await run('a'); // a is now the most recently used
    assert.deepEqual(e.pool.pending(), []);
    await run('c');
    assert.deepEqual(
      e.pool.pending().map((s) => s.request),
      [{ type: 'unload', sha256: 'sha-b' }],
    );
    e.pool.answer(e.pool.next(), {});
    await flush();
    assert.deepEqual(
      ['sha-a', 'sha-b', 'sha-c'].map((sha) => e.service.isLoaded(sha)),
      [true, false, true],
    );
    e.assertIdle();
  });

  it('keeps a model that has work in flight even when it is the least recently used', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1, maxLoadedVersions: 1 });
    const busy = e.predict(model('busy'));
    await flush();
    const other = e.predict(model('other'));
    await flush();
    assert.equal(e.service.isLoaded('sha-busy'), true, 'kept while its request runs');
    e.answerRun(e.pool.next());
    await flush();
    e.answerRun(e.pool.next());
    await flush();
    succeeded(busy);
    succeeded(other);
    assert.deepEqual(e.pool.pending(), []);
    e.assertIdle();
  });

  it('past INFERENCE_MEMORY_BUDGET_BYTES, unloads by bytes and logs a failed unload', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1, inferenceMemoryBudgetBytes: 500 });
    const big = e.predict(model('big', { sizeBytes: 400 }));
    await flush();
    e.answerRun(e.pool.next());
    await flush();
    const next = e.predict(model('next', { sizeBytes: 200 }));
    await flush();
    const unload = e.pool.sends.find((s) => s.request.type === 'unload' && !s.ended) as PoolSend;
    assert.deepEqual(unload.request, { type: 'unload', sha256: 'sha-big' });
    e.pool.fail(unload, new Error('unload refused'));
    await flush();
    assert.deepEqual(e.warnings, [{ msg: 'unload failed', sha256: 'sha-big', err: 'unload refused' }]);
    e.answerRun(e.pool.next());
    await flush();
    succeeded(big);
    succeeded(next);
    assert.equal(e.service.status().loadedBytes, 200);
    e.assertIdle();
  });

  it('recycleWorker ends one process through the pool', async (t) => {
    const e = await Engine.start(t);
    await e.service.recycleWorker(1);
    assert.deepEqual(e.pool.calls, ['recycle 1']);
    e.assertIdle();
  });

  it('logs when the processes do not start in time, and still starts', async (t) => {
    const e = await Engine.start(t, {}, { whenReady: false });
    assert.equal(e.errors.length, 1);
    assert.match(JSON.stringify(e.errors[0]), /did not start in time/);
    e.assertIdle();
  });
});

describe('InferenceService: which requests are batched', () => {
  const batching = { enabled: true, maxBatchSize: 4, maxQueueDelayMs: 5, preferredBatchSizes: [] };

  it('stacks requests of the same shape within maxQueueDelayMs, and splits the outputs back', async (t) => {
    const e = await Engine.start(t, { inferenceWorkers: 1 });
    const m = model('b', { batching });
    const works = [e.predict(m, rows(1, 1)), e.predict(m, rows(2, 2))];
    await flush();
    assert.equal(e.pool.sends.length, 0, 'waits for more');
    await e.clock.advance(5);
    const send = e.pool.next();
    const run = send.request as RunRequest;
    assert.deepEqual(run.rows, [1, 2]);
    assert.deepEqual(run.feeds.x, { dims: [3, 2], data: new Float64Array([1, 1, 2, 2, 2, 2]) });
    e.answerRun(send, ['first', 'second']);
    await flush();
    resolvedWith(works[0], { ...TIMES, outputs: ['first'] });
    resolvedWith(works[1], { ...TIMES, outputs: ['second'] });
    assert.deepEqual(e.batches, [{ model: 'b', size: 2 }]);
    e.assertIdle();
  });

  const alone: [string, PredictableModel, LooseInputs][] = [
    ['batching is off', model('b', { batching: { ...batching, enabled: false } }), rows(1)],
    [
      'the signature has a fixed first dimension',
      model('b', { batching, inputs: [{ ...SIGNATURE[0], shape: [1, 2] }] }),
      rows(1),
    ],
    ['an input has a problem', model('b', { batching }), { x: { problem: 'not rectangular' } }],
    ['an input is not all numbers', model('b', { batching }), { x: { dims: [1, 2], data: ['a', 'b'] } }],
    ['an input is a scalar', model('b', { batching }), { x: { dims: [], data: new Float64Array(1) } }],
    [
      'the inputs disagree on the rows',
      model('b', { batching, inputs: [SIGNATURE[0], { ...SIGNATURE[0], name: 'z' }] }),
      { x: rows(1).x, z: rows(2).x },
    ],
    ['there are no rows', model('b', { batching }), { x: { dims: [0, 2], data: new Float64Array(0) } }],
    ['it has more rows than maxBatchSize', model('b', { batching }), rows(5)],
    ['it has no inputs at all', model('b', { batching }), {}],
  ];
  for (const [why, m, inputs] of alone) {
    it(`sends a request alone and at once when ${why}`, async (t) => {
      const e = await Engine.start(t, { inferenceWorkers: 1 });
      const work = e.predict(m, inputs);
      await flush();
      const send = e.pool.next();
      assert.equal((send.request as RunRequest).rows, undefined);
      assert.equal((send.request as RunRequest).feeds, inputs);
      e.answerRun(send);
      await flush();
      succeeded(work);
      e.assertIdle();
    });
  }
});

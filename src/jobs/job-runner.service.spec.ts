import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { provideFake } from '../../test/support/nest-fakes';
import { InvalidInputError, UnavailableError } from '../common/errors';
import type { SafeError } from '../common/safe-error';
import { AppConfig } from '../config/app-config';
import { ServableVersionsService } from '../models/servable-versions.service';
import type { ServableVersion } from '../models/servable-version';
import type { TensorSpec } from '../inference/tensor-spec';
import type { PreparedInstance } from './batching';
import { ChunkExecutor, type ChunkModel, type InstanceOutcome } from './chunk-executor';
import type { JobStatus } from './entities/job.entity';
import { encodeInstance } from './instance-codec';
import { JobHooks } from './job-hooks';
import { JobMetrics } from './job-metrics';
import { AttemptOutcome, JobRunnerService } from './job-runner.service';
import { JobStore, type JobControl } from './job-store';

const JOB_ID = 'job-1';
const SIGNATURE: TensorSpec[] = [{ name: 'x', dtype: 'float32', shape: [1, 2] }];
const VERSION = {
  id: 'version-1',
  sha256: 'sha',
  storageKey: 'key',
  sizeBytes: 10,
  inputs: SIGNATURE,
  outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1] }],
};
const JOBS = { backoffMs: 1_000, timeoutMs: 60_000, chunkSize: 2, attempts: 3 };

/** The transitions a job may take; anything else is a bug in the runner or the store. */
const LEGAL = new Set([
  'queued→running',
  'running→running',
  'running→completed',
  'running→cancelled',
  'running→queued',
  'running→failed',
  'queued→failed',
]);

interface Row {
  status: JobStatus;
  lease: string | null;
  done: number;
  total: number;
  attempts: number;
  failures: number;
  cancelRequested: boolean;
  modelVersionId: string | null;
  error: SafeError | null;
}

/**
 * The job table for one job, in memory, with JobStore's conditions (a write under a lease that no
 * longer owns the job changes nothing, `done` only moves from where it is) and every status
 * change checked against LEGAL.
 */
class JobTable {
  readonly row: Row;
  readonly transitions: string[] = [];
  readonly results = new Map<number, InstanceOutcome>();
  private leases = 0;
  /** Called at the start of each saveChunk (a test can act between a chunk's run and its save). */
  beforeSave?: () => void;
  /** The stored instances are gone (instances() answers none). */
  instancesMissing = false;

  constructor(total: number, over: Partial<Row> = {}) {
    this.row = {
      status: 'queued',
      lease: null,
      done: 0,
      total,
      attempts: 0,
      failures: 0,
      cancelRequested: false,
      modelVersionId: VERSION.id,
      error: null,
      ...over,
    };
  }

  move(to: JobStatus): void {
    const step = `${this.row.status}→${to}`;
    assert.ok(LEGAL.has(step), `illegal transition ${step}`);
    this.transitions.push(step);
    this.row.status = to;
  }

  private owns(lease: string): boolean {
    return this.row.status === 'running' && this.row.lease === lease;
  }

  /** The JobStore members the runner may use; any other throws (strict fake). */
  store(): Partial<JobStore> {
    return {
      find: (id) => Promise.resolve(id === JOB_ID ? ({ id, ...this.row, version: 1, modelName: 'm' } as never) : null),
      claim: (id) => {
        if (id !== JOB_ID || !['queued', 'running'].includes(this.row.status)) return Promise.resolve(undefined);
        this.move('running');
        this.row.lease = `lease-${++this.leases}`;
        this.row.attempts++;
        return Promise.resolve(this.row.lease);
      },
      control: () => {
        const { status, cancelRequested, lease, done, total } = this.row;
        return Promise.resolve({ status, cancelRequested, lease, done, total } as JobControl);
      },
      instances: (_id, from, to) =>
        Promise.resolve(
          Array.from({ length: this.instancesMissing ? 0 : Math.max(0, to - from) }, (_, i) => ({
            index: from + i,
            ...encodeInstance({ x: { dtype: 'float32', dims: [1, 2], data: new Float32Array([from + i, 0]) } }),
          })),
        ),
      saveChunk: (_id, lease, from, results) => {
        this.beforeSave?.();
        if (!this.owns(lease) || this.row.done !== from) return Promise.resolve(false);
        for (const result of results) this.results.set(result.index, result);
        this.row.done = from + results.length;
        return Promise.resolve(true);
      },
      finish: (_id, lease, status) => {
        if (!this.owns(lease)) return Promise.resolve(false);
        this.move(status);
        this.row.lease = null;
        return Promise.resolve(true);
      },
      release: (_id, lease) => {
        if (this.owns(lease)) {
          this.move('queued');
          this.row.lease = null;
        }
        return Promise.resolve();
      },
      recordFailure: (_id, lease, error, maxFailures) => {
        if (!this.owns(lease)) return Promise.resolve(undefined);
        const failures = ++this.row.failures;
        const final = failures >= maxFailures;
        this.move(final ? 'failed' : 'queued');
        this.row.lease = null;
        this.row.error = error;
        return Promise.resolve({ failures, final });
      },
      failUnfinished: (_id, error) => {
        if (!['queued', 'running'].includes(this.row.status)) return Promise.resolve(false);
        this.move('failed');
        this.row.lease = null;
        this.row.error = error;
        return Promise.resolve(true);
      },
    };
  }
}

/** An executor that answers each instance with its index, unless the test says otherwise. */
type Execute = (instances: readonly PreparedInstance[], chunk: number) => Promise<InstanceOutcome[]>;

function succeed(instances: readonly PreparedInstance[]): Promise<InstanceOutcome[]> {
  return Promise.resolve(instances.map((i) => ({ index: i.index, outputs: `[${i.index}]` })));
}

class Harness {
  readonly table: JobTable;
  readonly events: string[] = [];
  readonly instanceCounts: [number, number][] = [];
  readonly chunks: { chunk: number; attempt: number }[] = [];
  readonly logs: { level: string; entry: Record<string, unknown> }[] = [];
  /** What the executor does with each chunk (by the number of chunks run so far). */
  execute: Execute = succeed;
  executed: number[][] = [];
  deadlines: number[] = [];
  /** What JobHooks.beforeChunk does (the test seam; production resolves at once). */
  hook: () => Promise<void> = () => Promise.resolve();
  version: typeof VERSION | null = VERSION;
  runner!: JobRunnerService;

  constructor(t: TestContext, total: number, over: Partial<Row> = {}) {
    this.table = new JobTable(total, over);
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    for (const level of ['log', 'warn', 'error'] as const) {
      t.mock.method(Logger.prototype, level, (entry: Record<string, unknown>) => this.logs.push({ level, entry }));
    }
  }

  static async create(t: TestContext, total: number, over: Partial<Row> = {}, jobs = JOBS): Promise<Harness> {
    const h = new Harness(t, total, over);
    const moduleRef = await Test.createTestingModule({
      providers: [
        JobRunnerService,
        provideFake(AppConfig, { jobs } as Partial<AppConfig>),
        provideFake(JobStore, h.table.store()),
        provideFake(ChunkExecutor, {
          run: (model: ChunkModel, instances: readonly PreparedInstance[], deadline: number) => {
            assert.equal(model, h.version);
            h.deadlines.push(deadline);
            h.executed.push(instances.map((i) => i.index));
            return h.execute(instances, h.executed.length - 1);
          },
        }),
        provideFake(JobMetrics, {
          jobEvent: (event) => void h.events.push(event),
          instances: (ok, failed) => void h.instanceCounts.push([ok, failed]),
        }),
        provideFake(JobHooks, {
          beforeChunk: (jobId, chunk, attempt) => {
            assert.equal(jobId, JOB_ID);
            h.chunks.push({ chunk, attempt });
            return h.hook();
          },
        }),
        provideFake(ServableVersionsService, {
          byId: (id) => Promise.resolve(id === h.version?.id ? (h.version as unknown as ServableVersion) : null),
        }),
      ],
    }).compile();
    h.runner = moduleRef.get(JobRunnerService);
    return h;
  }

  attempt(): Promise<AttemptOutcome> {
    return this.runner.runAttempt(JOB_ID);
  }

  warnings(msg: string): Record<string, unknown>[] {
    return this.logs.filter((l) => l.level === 'warn' && l.entry.msg === msg).map((l) => l.entry);
  }
}

describe('JobRunnerService: an attempt that runs to the end', () => {
  it('queued → running → completed, chunk by chunk, every result saved once', async (t) => {
    const h = await Harness.create(t, 5);
    const running = h.attempt();
    assert.equal(h.runner.running, 1);
    assert.deepEqual(await running, { kind: 'completed' });
    assert.equal(h.runner.running, 0);
    assert.deepEqual(h.table.transitions, ['queued→running', 'running→completed']);
    assert.deepEqual(h.executed, [[0, 1], [2, 3], [4]]);
    assert.deepEqual(
      h.chunks,
      [0, 1, 2].map((chunk) => ({ chunk, attempt: 1 })),
    );
    assert.deepEqual(
      [...h.table.results.values()].map((r) => r.outputs),
      ['[0]', '[1]', '[2]', '[3]', '[4]'],
    );
    assert.equal(h.table.row.done, 5);
    assert.equal(h.table.row.lease, null);
    assert.deepEqual(h.events, ['completed']);
    assert.deepEqual(h.instanceCounts, [
      [2, 0],
      [2, 0],
      [1, 0],
    ]);
  });

  it('counts failed instances, and logs what their safe errors hide, three per chunk at most', async (t) => {
    const h = await Harness.create(t, 4, {}, { ...JOBS, chunkSize: 4 });
    h.execute = (instances) =>
      Promise.resolve(
        instances.map((i) => ({
          index: i.index,
          error: { kind: 'inference_failed', message: 'ONNX Runtime rejected the inputs' },
          internal: `raw text ${i.index}`,
        })),
      );
    assert.deepEqual(await h.attempt(), { kind: 'completed' });
    assert.deepEqual(h.instanceCounts, [[0, 4]]);
    const logged = h.warnings('job instance failed');
    assert.deepEqual(
      logged.map((l) => [l.index, l.err, l.similarInChunk]),
      [
        [0, 'raw text 0', 4],
        [1, 'raw text 1', 4],
        [2, 'raw text 2', 4],
      ],
    );
  });

  it('a job left running by a worker that died is claimed again (running → running) and resumes from done', async (t) => {
    const h = await Harness.create(t, 4, { status: 'running', lease: 'lease-of-a-dead-worker', done: 2, attempts: 1 });
    assert.deepEqual(await h.attempt(), { kind: 'completed' });
    assert.deepEqual(h.table.transitions, ['running→running', 'running→completed']);
    assert.deepEqual(h.executed, [[2, 3]]);
    assert.deepEqual(h.chunks, [{ chunk: 1, attempt: 2 }]);
  });

  it('a job with nothing left completes without running anything', async (t) => {
    const h = await Harness.create(t, 2, { done: 2 });
    assert.deepEqual(await h.attempt(), { kind: 'completed' });
    assert.deepEqual(h.executed, []);
  });
});

describe('JobRunnerService: cancel, failures and retries', () => {
  it('cancel requested during a chunk: that chunk is saved, then running → cancelled', async (t) => {
    const h = await Harness.create(t, 6);
    h.execute = (instances, chunk) => {
      if (chunk === 1) h.table.row.cancelRequested = true;
      return succeed(instances);
    };
    assert.deepEqual(await h.attempt(), { kind: 'cancelled' });
    assert.deepEqual(h.table.transitions, ['queued→running', 'running→cancelled']);
    assert.equal(h.table.row.done, 4, 'the chunk that ran when the cancel came is kept');
    assert.deepEqual(h.events, ['cancelled']);
  });

  it('a failed attempt: running → queued with a backoff, then the next attempt resumes where it stopped', async (t) => {
    const h = await Harness.create(t, 5);
    h.execute = (instances, chunk) =>
      chunk === 1 ? Promise.reject(new Error('connection to postgres://u:secret@db lost')) : succeed(instances);
    const first = await h.attempt();
    assert.deepEqual(first, {
      kind: 'retry',
      delayMs: JOBS.backoffMs,
      error: `Internal error; the server log has the details under job id ${JOB_ID}`,
    });
    assert.equal(h.table.row.done, 2);
    assert.equal(h.table.row.status, 'queued');
    assert.deepEqual(h.table.row.error, { kind: 'internal', message: first.kind === 'retry' ? first.error : '' });
    assert.doesNotMatch(JSON.stringify(h.table.row.error), /secret/);
    const [logged] = h.warnings('job attempt failed; will retry');
    assert.match(String(logged.err), /secret@db lost/, 'the raw text goes to the log only');

    h.execute = succeed;
    assert.deepEqual(await h.attempt(), { kind: 'completed' });
    assert.deepEqual(h.table.transitions, ['queued→running', 'running→queued', 'queued→running', 'running→completed']);
    assert.deepEqual(h.executed, [[0, 1], [2, 3], [2, 3], [4]]);
    assert.deepEqual(h.chunks.at(-2), { chunk: 1, attempt: 2 });
    assert.deepEqual(h.events, ['retried', 'completed']);
  });

  it('the last attempt failing: running → failed, with the domain error’s own message', async (t) => {
    const h = await Harness.create(t, 2, {}, { ...JOBS, attempts: 2 });
    h.execute = () => Promise.reject(new UnavailableError('The inference process stopped', 1));
    const outcomes = [await h.attempt(), await h.attempt()];
    assert.deepEqual(outcomes, [
      { kind: 'retry', delayMs: JOBS.backoffMs * 2 ** 0, error: 'The inference process stopped' },
      { kind: 'failed', error: 'The inference process stopped' },
    ]);
    assert.equal(h.table.row.status, 'failed');
    assert.deepEqual(h.table.row.error, { kind: 'unavailable', message: 'The inference process stopped' });
    assert.deepEqual(h.events, ['retried', 'failed']);
    assert.deepEqual(await h.attempt(), { kind: 'skipped' }, 'a failed job is not claimed again');
  });

  it('backs off JOBS_BACKOFF_MS, doubling with each failure', async (t) => {
    const h = await Harness.create(t, 1);
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((n) => h.runner.backoffMs(n)),
      [1_000, 1_000, 2_000, 4_000, 8_000],
    );
  });

  it('a hook that rejects fails the attempt like any other failure', async (t) => {
    const h = await Harness.create(t, 1);
    h.hook = () => Promise.reject(new InvalidInputError('held by the test'));
    assert.deepEqual(await h.attempt(), { kind: 'retry', delayMs: 1_000, error: 'held by the test' });
  });
});

describe('JobRunnerService: deadline, lost jobs and shutdown', () => {
  it('an attempt past JOBS_TIMEOUT_MS fails at the next chunk boundary with a timeout', async (t) => {
    const h = await Harness.create(t, 4, {}, { ...JOBS, attempts: 1 });
    t.mock.timers.tick(5_000);
    h.execute = (instances) => {
      t.mock.timers.tick(JOBS.timeoutMs + 1);
      return succeed(instances);
    };
    const outcome = await h.attempt();
    assert.equal(outcome.kind, 'failed');
    assert.match(outcome.kind === 'failed' ? outcome.error : '', /JOBS_TIMEOUT_MS \(60000 ms\)/);
    assert.equal(h.table.row.error?.kind, 'timeout');
    assert.equal(h.table.row.done, 2, 'the chunk that finished in time is kept');
    assert.deepEqual(h.deadlines, [5_000 + JOBS.timeoutMs], 'the executor runs to the attempt’s deadline');
    assert.deepEqual(h.table.transitions, ['queued→running', 'running→failed']);
  });

  it('a version deleted since the job was queued fails the job at once, whatever attempts are left', async (t) => {
    const h = await Harness.create(t, 2);
    h.version = null;
    assert.deepEqual(await h.attempt(), {
      kind: 'failed',
      error: "Version 1 of 'm' was deleted before the job finished",
    });
    assert.deepEqual(h.table.transitions, ['queued→running', 'running→failed']);
    assert.equal(h.table.row.failures, 1);
  });

  it('a job without a version id fails the same way', async (t) => {
    const h = await Harness.create(t, 2, { modelVersionId: null });
    assert.equal((await h.attempt()).kind, 'failed');
  });

  it('stored instances that are missing fail the job at once', async (t) => {
    const h = await Harness.create(t, 2);
    h.table.instancesMissing = true;
    const outcome = await h.attempt();
    assert.deepEqual(outcome, { kind: 'failed', error: `The stored instances of job ${JOB_ID} are missing` });
  });

  it('a job that is gone or finished is skipped without a transition', async (t) => {
    for (const status of ['completed', 'failed', 'cancelled'] as const) {
      await t.test(status, async (sub) => {
        const h = await Harness.create(sub, 2, { status });
        assert.deepEqual(await h.attempt(), { kind: 'skipped' });
        assert.deepEqual(h.table.transitions, []);
      });
    }
  });

  it('another worker took the job (lease lost): the attempt stops without saving or finishing', async (t) => {
    const h = await Harness.create(t, 4);
    h.execute = (instances) => {
      h.table.row.lease = 'lease-of-another-worker';
      return succeed(instances);
    };
    assert.deepEqual(await h.attempt(), { kind: 'skipped' });
    assert.equal(h.table.row.done, 0);
    assert.deepEqual(h.table.transitions, ['queued→running']);
    assert.deepEqual(h.events, []);
  });

  it('a save that finds the lease gone ends the attempt as skipped', async (t) => {
    const h = await Harness.create(t, 2);
    h.table.beforeSave = () => (h.table.row.lease = 'lease-of-another-worker');
    assert.deepEqual(await h.attempt(), { kind: 'skipped' });
    assert.equal(h.table.row.done, 0);
  });

  it('a failure after the lease was lost records nothing', async (t) => {
    const h = await Harness.create(t, 2);
    h.execute = () => {
      h.table.row.lease = 'lease-of-another-worker';
      return Promise.reject(new Error('boom'));
    };
    assert.deepEqual(await h.attempt(), { kind: 'skipped' });
    assert.equal(h.table.row.failures, 0);
  });

  it('stop(): the running attempt saves its chunk and releases the job (running → queued); later ones do not claim', async (t) => {
    const h = await Harness.create(t, 6);
    let stopped: Promise<void> | undefined;
    h.execute = (instances, chunk) => {
      if (chunk === 0) stopped = h.runner.stop();
      return succeed(instances);
    };
    assert.deepEqual(await h.attempt(), { kind: 'released' });
    await stopped;
    assert.deepEqual(h.table.transitions, ['queued→running', 'running→queued']);
    assert.equal(h.table.row.done, 2);
    assert.equal(h.table.row.attempts, 1);
    assert.deepEqual(h.events, ['released']);
    assert.deepEqual(await h.attempt(), { kind: 'released' });
    assert.equal(h.table.row.attempts, 1, 'not claimed while stopping');
  });

  it('failFromQueue fails an unfinished job once, and leaves a finished one', async (t) => {
    const h = await Harness.create(t, 2);
    await h.runner.failFromQueue(JOB_ID, 'job stalled more than allowable limit');
    assert.equal(h.table.row.status, 'failed');
    assert.deepEqual(h.table.row.error, {
      kind: 'internal',
      message: `Internal error; the server log has the details under job id ${JOB_ID}`,
    });
    assert.deepEqual(h.events, ['failed']);
    await h.runner.failFromQueue(JOB_ID, 'again');
    assert.deepEqual(h.events, ['failed']);
    assert.deepEqual(h.table.transitions, ['queued→failed']);
  });
});

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { flush } from '../../../test/support/fake-inference-port';
import { provideFake } from '../../../test/support/nest-fakes';
import { AppConfig } from '../../config/app-config';
import { JobMetrics } from '../job-metrics';
import { AttemptOutcome, JobRunnerService } from '../job-runner.service';
import { JobStore } from '../job-store';
import { InProcessJobQueue } from './in-process-job-queue';

/** What the queue reports with nothing waiting or running (the rate is the harness's fixed one). */
const IDLE_STATS = {
  runner: 'in-process',
  waiting: 0,
  delayed: 0,
  active: 0,
  runningHere: 0,
  instancesPerSecond: 12.5,
};

/** An attempt the test ends when it wants, with the outcome it wants. */
interface Attempt {
  jobId: string;
  end(outcome: AttemptOutcome): void;
  crash(error: Error): void;
}

class Harness {
  readonly attempts: Attempt[] = [];
  readonly warnings: unknown[] = [];
  stopped = 0;
  queue!: InProcessJobQueue;

  constructor(private readonly t: TestContext) {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    t.mock.method(Logger.prototype, 'log', () => undefined);
    t.mock.method(Logger.prototype, 'warn', (entry: unknown) => this.warnings.push(entry));
  }

  static async start(t: TestContext, unfinished: string[] = [], concurrency = 2): Promise<Harness> {
    const h = new Harness(t);
    const running = new Set<string>();
    const moduleRef = await Test.createTestingModule({
      providers: [
        InProcessJobQueue,
        provideFake(AppConfig, { jobs: { concurrency } } as Partial<AppConfig>),
        provideFake(JobStore, { unfinished: () => Promise.resolve(unfinished) }),
        provideFake(JobMetrics, { instancesPerSecond: () => 12.5 }),
        provideFake(JobRunnerService, {
          runAttempt: (jobId: string) =>
            new Promise<AttemptOutcome>((resolve, reject) => {
              assert.ok(!running.has(jobId), `job ${jobId} runs twice at once`);
              running.add(jobId);
              const done = () => running.delete(jobId);
              h.attempts.push({
                jobId,
                end: (outcome) => (done(), resolve(outcome)),
                crash: (error) => (done(), reject(error)),
              });
            }),
          backoffMs: (failures: number) => 100 * failures,
          stop: () => {
            h.stopped++;
            return Promise.resolve();
          },
          get running() {
            return running.size;
          },
        }),
      ],
    }).compile();
    h.queue = moduleRef.get(InProcessJobQueue);
    await h.queue.onApplicationBootstrap();
    return h;
  }

  started(): string[] {
    return this.attempts.map((a) => a.jobId);
  }

  /** Ends the attempt of `jobId` that is running. */
  async end(jobId: string, outcome: AttemptOutcome = { kind: 'completed' }): Promise<void> {
    const attempt = this.attempts.findLast((a) => a.jobId === jobId);
    assert.ok(attempt, `no attempt of ${jobId}`);
    attempt.end(outcome);
    await flush();
  }

  async advance(ms: number): Promise<void> {
    this.t.mock.timers.tick(ms);
    await flush();
  }
}

describe('InProcessJobQueue', () => {
  it('resumes the unfinished jobs at start, JOBS_CONCURRENCY at a time, in order', async (t) => {
    const h = await Harness.start(t, ['a', 'b', 'c'], 2);
    assert.deepEqual(h.started(), ['a', 'b']);
    assert.deepEqual(await h.queue.stats(), {
      runner: 'in-process',
      waiting: 1,
      delayed: 0,
      active: 2,
      runningHere: 2,
      instancesPerSecond: 12.5,
    });
    await h.end('a');
    assert.deepEqual(h.started(), ['a', 'b', 'c']);
    await h.end('b');
    await h.end('c');
    assert.deepEqual(await h.queue.stats(), IDLE_STATS);
  });

  it('takes a job once, however often it is enqueued while it waits or runs', async (t) => {
    const h = await Harness.start(t, [], 1);
    await h.queue.enqueue('a');
    await h.queue.enqueue('b');
    await h.queue.enqueue('a');
    await h.queue.enqueue('b');
    assert.deepEqual(h.started(), ['a']);
    await h.end('a');
    await h.end('b');
    assert.deepEqual(h.started(), ['a', 'b']);
  });

  it('runs a job again after the delay its failed attempt asks for', async (t) => {
    const h = await Harness.start(t, [], 1);
    await h.queue.enqueue('a');
    await h.end('a', { kind: 'retry', delayMs: 500, error: 'boom' });
    assert.equal((await h.queue.stats()).delayed, 1);
    await h.advance(499);
    assert.deepEqual(h.started(), ['a']);
    await h.advance(1);
    assert.deepEqual(h.started(), ['a', 'a']);
    assert.equal((await h.queue.stats()).delayed, 0);
    await h.end('a');
  });

  it('an attempt that throws (the database failed under it) is retried after the first backoff, and logged', async (t) => {
    const h = await Harness.start(t, [], 1);
    await h.queue.enqueue('a');
    h.attempts[0].crash(new Error('SQLITE_BUSY'));
    await flush();
    assert.deepEqual(h.warnings, [{ msg: 'job attempt could not run', jobId: 'a', err: 'SQLITE_BUSY' }]);
    await h.advance(100);
    assert.deepEqual(h.started(), ['a', 'a']);
    await h.end('a');
  });

  it('remove() takes out a job that waits, or waits for its retry; a running one goes on', async (t) => {
    const h = await Harness.start(t, [], 1);
    await h.queue.enqueue('running');
    await h.queue.enqueue('waiting');
    await h.queue.remove('waiting');
    await h.queue.remove('running');
    await h.end('running', { kind: 'retry', delayMs: 10, error: 'x' });
    assert.deepEqual(h.started(), ['running']);
    await h.queue.remove('running');
    await h.advance(1_000);
    assert.deepEqual(h.started(), ['running'], 'neither the removed job nor the removed retry ran');
    assert.deepEqual(await h.queue.stats(), IDLE_STATS);
  });

  it('at shutdown: drops what waits and the retries, stops the runner, then takes nothing more', async (t) => {
    const h = await Harness.start(t, ['a', 'b', 'c'], 1);
    await h.end('a', { kind: 'retry', delayMs: 10, error: 'x' });
    assert.deepEqual(h.started(), ['a', 'b']);
    await h.queue.onModuleDestroy();
    assert.equal(h.stopped, 1);
    await h.end('b', { kind: 'retry', delayMs: 10, error: 'x' });
    await h.queue.enqueue('d');
    await h.advance(1_000);
    assert.deepEqual(h.started(), ['a', 'b'], 'nothing ran after the shutdown');
    const stats = await h.queue.stats();
    assert.equal(stats.waiting + stats.delayed + stats.active, 0);
  });
});

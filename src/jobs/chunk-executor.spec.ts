import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Test } from '@nestjs/testing';
import { flush } from '../../test/support/fake-inference-port';
import { provideFake } from '../../test/support/nest-fakes';
import { InvalidInputError, TooManyRequestsError, UnavailableError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { InferenceFailedError } from '../inference/engine-errors';
import { InferenceService } from '../inference/inference.service';
import type { TensorData } from '../inference/tensor';
import type { RunOutcome } from '../inference/inference.service';
import type { TensorSpec } from '../inference/tensor-spec';
import type { PreparedInstance } from './batching';
import { ChunkExecutor, type ChunkModel, type InstanceOutcome } from './chunk-executor';

const TIMES = { validateMs: 0, inferenceMs: 0, encodeMs: 0 };

function modelWith(inputShape: number[]): ChunkModel {
  return {
    sha256: 'sha',
    storageKey: 'key',
    sizeBytes: 1,
    inputs: [{ name: 'x', dtype: 'float32', shape: inputShape }] as TensorSpec[],
    outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }] as TensorSpec[],
  };
}
const BATCHABLE = modelWith([-1, 2]);
const FIXED = modelWith([1, 2]);

/** Instance `index`: one row whose values are its index (so a run can tell its members apart). */
function instance(index: number): PreparedInstance {
  return { index, feeds: { x: { dtype: 'float32', dims: [1, 2], data: new Float32Array([index, index]) } } };
}

interface Run {
  feeds: Record<string, TensorData>;
  rows: number[] | undefined;
  members: number[];
  resolve(outcome: RunOutcome): void;
  reject(error: Error): void;
}

class Harness {
  readonly runs: Run[] = [];
  /** How each run is answered; by default every member's output is `[index]`. */
  answer: (run: Run) => void = (run) => run.resolve({ ...TIMES, outputs: run.members.map((i) => `[${i}]`) });
  maxConcurrent = 0;
  private running = 0;
  executor!: ChunkExecutor;

  static async start(t: TestContext, workers = 2): Promise<Harness> {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const h = new Harness();
    const moduleRef = await Test.createTestingModule({
      providers: [
        ChunkExecutor,
        provideFake(AppConfig, {
          inference: { workers, maxTensorElements: 1_000, timeoutMs: 5_000 } as AppConfig['inference'],
        }),
        provideFake(InferenceService, {
          runEncoded: (_model, feeds, rows) =>
            new Promise<RunOutcome>((resolve, reject) => {
              h.running++;
              h.maxConcurrent = Math.max(h.maxConcurrent, h.running);
              const data = feeds.x.data as Float32Array;
              const members = Array.from({ length: feeds.x.dims[0] }, (_, r) => data[r * 2]);
              const end = () => h.running--;
              const run: Run = {
                feeds,
                rows,
                members,
                resolve: (outcome) => (end(), resolve(outcome)),
                reject: (error) => (end(), reject(error)),
              };
              h.runs.push(run);
              queueMicrotask(() => h.answer(run));
            }),
        }),
      ],
    }).compile();
    h.executor = moduleRef.get(ChunkExecutor);
    return h;
  }
}

function outputsOf(outcomes: InstanceOutcome[]): (string | undefined)[] {
  return outcomes.map((o) => o.outputs);
}

describe('ChunkExecutor', () => {
  it('stacks instances of a batchable signature, spread over the workers, and splits the outputs back in order', async (t) => {
    const h = await Harness.start(t, 2);
    const outcomes = await h.executor.run(BATCHABLE, [0, 1, 2, 3, 4, 5].map(instance), 1_000_000);
    assert.deepEqual(
      outcomes.map((o) => o.index),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(outputsOf(outcomes), ['[0]', '[1]', '[2]', '[3]', '[4]', '[5]']);
    assert.deepEqual(
      h.runs.map((r) => r.rows),
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
    );
    assert.ok(h.maxConcurrent <= 2);
  });

  it('runs each instance alone when the signature does not batch, at most INFERENCE_WORKERS at once', async (t) => {
    const h = await Harness.start(t, 2);
    const outcomes = await h.executor.run(FIXED, [0, 1, 2, 3, 4].map(instance), 1_000_000);
    assert.deepEqual(outputsOf(outcomes), ['[0]', '[1]', '[2]', '[3]', '[4]']);
    assert.equal(h.runs.length, 5);
    assert.ok(h.runs.every((r) => r.rows === undefined));
    assert.equal(h.maxConcurrent, 2);
  });

  it('re-runs a batch that one member’s data fails, member by member: only that member fails', async (t) => {
    const h = await Harness.start(t, 1);
    h.answer = (run) => {
      if (run.members.includes(2)) {
        run.reject(new InferenceFailedError('ONNX Runtime rejected the inputs', `raw text of member ${run.members}`));
      } else run.resolve({ ...TIMES, outputs: run.members.map((i) => `[${i}]`) });
    };
    const outcomes = await h.executor.run(BATCHABLE, [1, 2, 3].map(instance), 1_000_000);
    assert.deepEqual(
      h.runs.map((r) => r.members),
      [[1, 2, 3], [1], [2], [3]],
    );
    assert.deepEqual(outcomes, [
      { index: 1, outputs: '[1]' },
      {
        index: 2,
        error: { kind: 'inference_failed', message: 'ONNX Runtime rejected the inputs' },
        internal: 'raw text of member 2',
      },
      { index: 3, outputs: '[3]' },
    ]);
  });

  it('re-runs members alone when the batch’s outputs do not split back into them', async (t) => {
    const h = await Harness.start(t, 1);
    h.answer = (run) =>
      run.resolve({ ...TIMES, outputs: run.members.length > 1 ? null : run.members.map((i) => `[${i}]`) });
    const outcomes = await h.executor.run(BATCHABLE, [7, 8].map(instance), 1_000_000);
    assert.deepEqual(outputsOf(outcomes), ['[7]', '[8]']);
    assert.equal(h.runs.length, 3);
  });

  it('an instance failure outside a batch is that instance’s error; the chunk goes on', async (t) => {
    const h = await Harness.start(t, 1);
    h.answer = (run) =>
      run.members[0] === 1
        ? run.reject(new InvalidInputError('x: expected 2 values'))
        : run.resolve({ ...TIMES, outputs: ['[0]'] });
    const outcomes = await h.executor.run(FIXED, [0, 1].map(instance), 1_000_000);
    assert.deepEqual(outcomes[1], {
      index: 1,
      error: { kind: 'invalid', message: 'x: expected 2 values' },
      internal: undefined,
    });
  });

  it('any other failure fails the whole chunk (the attempt is retried)', async (t) => {
    for (const model of [BATCHABLE, FIXED]) {
      await t.test(model === BATCHABLE ? 'batched' : 'alone', async (sub) => {
        const h = await Harness.start(sub, 1);
        h.answer = (run) => run.reject(new UnavailableError('The inference process stopped', 1));
        await assert.rejects(h.executor.run(model, [0, 1].map(instance), 1_000_000), UnavailableError);
      });
    }
  });

  it('a run of one instance that answers more than one output fails the chunk', async (t) => {
    const h = await Harness.start(t, 1);
    h.answer = (run) => run.resolve({ ...TIMES, outputs: ['[0]', '[0]'] });
    await assert.rejects(h.executor.run(FIXED, [instance(0)], 1_000_000), /must answer one encoded output/);
  });

  it('yields to synchronous traffic: a full model queue (429) is retried every 250 ms until the deadline', async (t) => {
    const h = await Harness.start(t, 1);
    let refusals = 2;
    h.answer = (run) =>
      refusals-- > 0 ? run.reject(new TooManyRequestsError('queue full')) : run.resolve({ ...TIMES, outputs: ['[0]'] });
    const running = h.executor.run(FIXED, [instance(0)], 10_000);
    await flush();
    assert.equal(h.runs.length, 1);
    t.mock.timers.tick(249);
    await flush();
    assert.equal(h.runs.length, 1, 'waits before asking again');
    t.mock.timers.tick(1);
    await flush();
    assert.equal(h.runs.length, 2);
    t.mock.timers.tick(250);
    assert.deepEqual(outputsOf(await running), ['[0]']);
    assert.equal(h.runs.length, 3);
  });

  it('gives up on a full queue when waiting would pass the deadline', async (t) => {
    const h = await Harness.start(t, 1);
    h.answer = (run) => run.reject(new TooManyRequestsError('queue full'));
    await assert.rejects(h.executor.run(FIXED, [instance(0)], 200), TooManyRequestsError);
    assert.equal(h.runs.length, 1);
  });
});

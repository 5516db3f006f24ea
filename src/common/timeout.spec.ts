import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withTimeout } from './timeout';

class Late extends Error {}

/** A promise the test settles by hand. */
function pending<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('withTimeout', () => {
  it('passes on the value of work that settles in time, and leaves no timer behind', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const work = pending<string>();
    const result = withTimeout(work.promise, 100, () => new Late());
    t.mock.timers.tick(99);
    work.resolve('answer');
    assert.equal(await result, 'answer');
    t.mock.timers.tick(1_000); // the cleared timer must not fire into anything
  });

  it('passes on the rejection of work that fails in time', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const work = pending<string>();
    const result = withTimeout(work.promise, 100, () => new Late());
    work.reject(new Error('refused'));
    await assert.rejects(result, /refused/);
  });

  it('rejects with the given error once the time is up, and ignores what the work does later', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const work = pending<string>();
    const result = withTimeout(work.promise, 100, () => new Late('no answer within 100 ms'));
    t.mock.timers.tick(100);
    await assert.rejects(
      result,
      (error: Error) => error instanceof Late && error.message === 'no answer within 100 ms',
    );
    // A late failure is not an unhandled rejection (node:test would report it).
    work.reject(new Error('too late'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});

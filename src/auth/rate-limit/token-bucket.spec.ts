import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BucketState, describeBucket, takeToken, UNITS_PER_TOKEN } from './token-bucket';

const T0 = 1_700_000_000_000;

/** Runs requests at the given times (ms after T0) through one bucket; the answers in order. */
function run(limit: number, times: number[]): { allowed: boolean; remaining: number; reset: number; retry: number }[] {
  let state: BucketState | undefined;
  return times.map((offset) => {
    const take = takeToken(state, limit, T0 + offset);
    if (take.next) state = take.next;
    const outcome = describeBucket(limit, take.allowed, take.units);
    return {
      allowed: outcome.allowed,
      remaining: outcome.remaining,
      reset: outcome.resetSeconds,
      retry: outcome.retryAfterSeconds,
    };
  });
}

describe('token bucket', () => {
  it('starts full: a burst of `limit` requests passes, the next is refused', () => {
    const answers = run(3, [0, 0, 0, 0]);
    assert.deepEqual(
      answers.map((a) => [a.allowed, a.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ],
    );
  });

  it('refills continuously at limit/60 tokens per second, not at a window boundary', () => {
    // 3 per minute: one token every 20 s.
    const answers = run(3, [0, 0, 0, 19_999, 20_000, 20_001, 40_000]);
    assert.deepEqual(
      answers.map((a) => a.allowed),
      [true, true, true, false, true, false, true],
    );
  });

  it('never holds more than `limit` tokens, however long it was idle', () => {
    const answers = run(2, [0, 10 * 60_000, 10 * 60_000, 10 * 60_000]);
    assert.deepEqual(
      answers.map((a) => a.allowed),
      [true, true, true, false],
    );
  });

  it('sustains exactly the limit per minute under constant pressure', () => {
    // A request every 100 ms for 10 minutes against 60/min: the burst plus one per second.
    const times = Array.from({ length: 6_000 }, (_, i) => i * 100);
    const allowed = run(60, times).filter((a) => a.allowed).length;
    assert.equal(allowed, 60 + 599);
  });

  it('reports Reset as the seconds until full, or until the next token when none is left', () => {
    const [first, second, third, refused] = run(3, [0, 0, 0, 5_000]);
    assert.equal(first.reset, 20, 'one token short of full: 20 s');
    assert.equal(second.reset, 40);
    assert.equal(third.reset, 20, 'empty: the next token in 20 s');
    assert.equal(third.retry, 20);
    assert.equal(refused.reset, 15, 'refused 5 s later: 15 s to the next token');
    assert.equal(refused.retry, 15, 'Retry-After and Reset name the same instant');
  });

  it('gives Retry-After at least 1 s even when the next token is due sooner', () => {
    // 6,000 per minute: one token per 10 ms.
    const answers = run(6_000, [...Array(6_000).fill(0), 0]);
    const refused = answers.at(-1)!;
    assert.equal(refused.allowed, false);
    assert.equal(refused.retry, 1);
    assert.equal(refused.reset, 1);
  });

  it('keeps whole numbers with limits that do not divide a minute (no drift)', () => {
    // 7 per minute: one token every 8571.43 ms. After 7 tokens, exactly 60 s refills all 7.
    const answers = run(7, [...Array(7).fill(0), 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000]);
    assert.deepEqual(
      answers.slice(7).map((a) => a.allowed),
      [true, true, true, true, true, true, true, false],
    );
    const take = takeToken({ units: 0, at: T0 }, 7, T0 + 8_571);
    assert.equal(take.allowed, false, '8571 ms is not yet a token');
    assert.equal(takeToken({ units: 0, at: T0 }, 7, T0 + 8_572).allowed, true);
  });

  it('refills nothing for a clock behind the stored time (another replica) and keeps the later time', () => {
    const state = { units: 0, at: T0 + 10_000 };
    const behind = takeToken(state, 3, T0);
    assert.equal(behind.allowed, false);
    assert.equal(behind.units, 0);
    const later = takeToken({ units: UNITS_PER_TOKEN, at: T0 + 10_000 }, 3, T0);
    assert.deepEqual(later.next, { units: 0, at: T0 + 10_000 });
  });

  it('writes nothing for a refused request', () => {
    assert.equal(takeToken({ units: 10, at: T0 }, 3, T0).next, undefined);
  });

  it('caps a bucket stored under a higher limit at the new capacity', () => {
    const take = takeToken({ units: 100 * UNITS_PER_TOKEN, at: T0 }, 2, T0);
    assert.equal(describeBucket(2, take.allowed, take.units).remaining, 1);
  });
});

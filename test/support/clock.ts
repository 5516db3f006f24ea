import type { TestContext } from 'node:test';

/** Date.now() of this process, moved ahead of the real clock on demand. */
export interface ShiftedClock {
  /** Moves Date.now() forward by `ms` (it keeps running from there). */
  advance(ms: number): void;
}

/**
 * Makes expiry testable without waiting for it: from now until the test ends (t.mock restores
 * it), Date.now() in this process is the real clock plus whatever the test advanced it by. Code
 * that compares Date.now() with a deadline or an expiry (the prediction cache, a job attempt's
 * JOBS_TIMEOUT_MS) sees the time pass at once. Timers (setTimeout) are not affected, and
 * test/support/wait-for.ts guards its waits with performance.now(), which does not move.
 */
export function shiftClock(t: TestContext): ShiftedClock {
  const realNow = Date.now.bind(Date);
  let offset = 0;
  t.mock.method(Date, 'now', () => realNow() + offset);
  return {
    advance(ms: number) {
      offset += ms;
    },
  };
}

/** A clock of its own for unit specs (`now` to inject), which moves only when the test says so. */
export function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

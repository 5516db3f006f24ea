/**
 * Wall-clock time in milliseconds, injected where time decides an outcome (rate-limit refill) so
 * unit specs can drive it by hand. The system clock reads Date.now() at every call, so e2e tests
 * move it with test/support/clock.ts `shiftClock`.
 */
export abstract class Clock {
  abstract now(): number;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}

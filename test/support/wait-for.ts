/**
 * Waiting on conditions instead of sleeping. A test waits for the state it needs (a job's
 * progress, a log line, a readiness answer); the timeout only turns a hang into a failure with
 * a message, it is never what a test measures. See DEVELOPERS.md, "Writing deterministic tests".
 */

export interface WaitOptions {
  /** Failure guard: give up after this long (default 30 s, far beyond any expected wait). */
  timeoutMs?: number;
  /** Pause between two checks (default 10 ms). */
  intervalMs?: number;
  /** What is awaited, for the failure message. */
  what?: string;
}

export const DEFAULT_WAIT_MS = 30_000;

/** Resolves after `ms`: for pacing a poll, never for letting something happen. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `condition` until it returns a truthy value and resolves with that value. An error thrown
 * by the condition fails the wait at once. Past `timeoutMs` it rejects, quoting `describe()` of
 * the last value when given (the state the test was stuck in).
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitOptions & { describe?: (last: T) => string } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
  // performance.now(): a test may move Date.now() (test/support/clock.ts); the guard must not move with it.
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) {
      const last = options.describe ? `; last seen: ${options.describe(value)}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}${last}`);
    }
    await pause(options.intervalMs ?? 10);
  }
}

/** Settles-or-not probe for a promise, without waiting for it. */
export function track<T>(promise: Promise<T>): { promise: Promise<T>; readonly settled: boolean } {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  return {
    promise: tracked,
    get settled() {
      return settled;
    },
  };
}

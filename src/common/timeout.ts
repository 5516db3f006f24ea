/**
 * `work`, or a rejection with `onTimeout()` if it has not settled within `ms`. The timer is cleared
 * as soon as either side settles. The work itself is not cancelled: whatever it does later is
 * ignored (its late rejection is handled by the race).
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

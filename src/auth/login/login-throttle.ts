import { LRUCache } from 'lru-cache';
import { TooManyRequestsError } from '../../common/errors';

/** A login attempt's two throttle keys: the username tried and the client address. */
export interface LoginAttempt {
  username: string;
  address: string;
}

/**
 * Failed-login throttling: after `maxFailures` failures within `windowSeconds` for a username,
 * or from an address, further attempts are refused with 429 (Retry-After: until the window ends)
 * before any password is checked. A successful login clears the username's count.
 */
export abstract class LoginThrottle {
  constructor(
    protected readonly maxFailures: number,
    protected readonly windowSeconds: number,
  ) {}

  /** Throws TooManyRequestsError when the username or the address is locked out. */
  abstract admit(attempt: LoginAttempt): Promise<void>;

  abstract recordFailure(attempt: LoginAttempt): Promise<void>;

  abstract recordSuccess(attempt: LoginAttempt): Promise<void>;

  protected refuse(retryAfterSeconds: number): never {
    throw new TooManyRequestsError(
      'Too many failed logins for this username or from this address; retry later',
      Math.max(1, retryAfterSeconds),
    );
  }
}

/** The keys counted for an attempt (usernames and addresses never collide). */
export function throttleKeys(attempt: LoginAttempt): [string, string] {
  return [`user:${attempt.username}`, `addr:${attempt.address}`];
}

interface Window {
  failures: number;
  /** ms since the epoch when the window (and a lock) ends. */
  endsAt: number;
}

/** Counts in this process (no REDIS_URL): a bounded LRU whose entries expire with their window. */
export class MemoryLoginThrottle extends LoginThrottle {
  private readonly windows: LRUCache<string, Window>;

  constructor(maxFailures: number, windowSeconds: number, maxEntries = 100_000) {
    super(maxFailures, windowSeconds);
    this.windows = new LRUCache({ max: maxEntries });
  }

  admit(attempt: LoginAttempt): Promise<void> {
    // The executor turns refuse()'s throw into the rejection callers await.
    return new Promise((resolve) => {
      const now = Date.now();
      let lockedFor = 0;
      for (const key of throttleKeys(attempt)) {
        const window = this.current(key, now);
        if (window && window.failures >= this.maxFailures) lockedFor = Math.max(lockedFor, window.endsAt - now);
      }
      if (lockedFor > 0) this.refuse(Math.ceil(lockedFor / 1000));
      resolve();
    });
  }

  recordFailure(attempt: LoginAttempt): Promise<void> {
    const now = Date.now();
    for (const key of throttleKeys(attempt)) {
      const window = this.current(key, now) ?? { failures: 0, endsAt: now + this.windowSeconds * 1000 };
      window.failures += 1;
      this.windows.set(key, window);
    }
    return Promise.resolve();
  }

  recordSuccess(attempt: LoginAttempt): Promise<void> {
    this.windows.delete(throttleKeys(attempt)[0]);
    return Promise.resolve();
  }

  /** The key's window if it has not ended (Date.now() based, so tests can move time). */
  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window && window.endsAt <= now) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }
}

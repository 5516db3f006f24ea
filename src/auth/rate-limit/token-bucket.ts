/**
 * Token-bucket arithmetic shared by the memory store and (mirrored line by line) the Redis Lua
 * script. A bucket holds at most `limit` tokens (the burst) and refills continuously at
 * limit / 60 tokens per second. Amounts are kept in integer units of 1/60,000 token, so a
 * bucket refills by exactly `limit` units per millisecond and no rounding ever accumulates.
 */

/** Units in one token: with this scale, `limit` tokens per minute is `limit` units per ms. */
export const UNITS_PER_TOKEN = 60_000;
/** After this long without a request any bucket is full again. */
export const FULL_REFILL_MS = 60_000;

export interface BucketState {
  /** Units in the bucket at `at`. */
  units: number;
  /** Epoch ms of the last change. */
  at: number;
}

export interface BucketTake {
  allowed: boolean;
  /** Units left after this request (taken or not). */
  units: number;
  /** The state to store; undefined when nothing changed (a refused request writes nothing). */
  next?: BucketState;
}

/**
 * Refills the bucket up to `now` and takes one token if there is one. A missing bucket is full.
 * A clock behind the stored time (another replica's) refills nothing rather than going back.
 */
export function takeToken(state: BucketState | undefined, limit: number, now: number): BucketTake {
  const capacity = limit * UNITS_PER_TOKEN;
  let units = capacity;
  let at = now;
  if (state) {
    const elapsed = Math.min(Math.max(0, now - state.at), FULL_REFILL_MS);
    units = Math.min(capacity, state.units + elapsed * limit);
    at = Math.max(now, state.at);
  }
  if (units < UNITS_PER_TOKEN) return { allowed: false, units };
  units -= UNITS_PER_TOKEN;
  return { allowed: true, units, next: { units, at } };
}

/** What a client is told about its bucket (the RateLimit-* and Retry-After headers). */
export interface RateLimitOutcome {
  allowed: boolean;
  limit: number;
  /** Whole tokens left. */
  remaining: number;
  /**
   * Seconds until the bucket is full again; when no whole token is left, seconds until one is
   * (the same instant as Retry-After, as the IETF draft asks of a response carrying both).
   */
  resetSeconds: number;
  /** Seconds until the next token: what a refused client should wait (at least 1). */
  retryAfterSeconds: number;
}

/** The headers' view of a bucket holding `units` after a request that was `allowed` or not. */
export function describeBucket(limit: number, allowed: boolean, units: number): RateLimitOutcome {
  const remaining = Math.floor(units / UNITS_PER_TOKEN);
  const msUntilToken = Math.ceil(Math.max(0, UNITS_PER_TOKEN - units) / limit);
  const msUntilFull = Math.ceil((limit * UNITS_PER_TOKEN - units) / limit);
  return {
    allowed,
    limit,
    remaining,
    resetSeconds: Math.ceil((remaining > 0 ? msUntilFull : msUntilToken) / 1000),
    retryAfterSeconds: Math.max(1, Math.ceil(msUntilToken / 1000)),
  };
}

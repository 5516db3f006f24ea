import type { Response } from 'express';
import type { Principal } from './principal';

/**
 * Per-credential request limits. `admit` sets the RateLimit-* headers on `res` and throws
 * TooManyRequestsError (429 with Retry-After) when the credential is over its limit.
 * Bound to TokenBucketRateLimits (rate-limit/token-bucket-rate-limits.ts).
 */
export abstract class RateLimits {
  abstract admit(principal: Principal, res: Response): Promise<void>;
}

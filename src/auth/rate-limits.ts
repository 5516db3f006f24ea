import type { Principal } from './principal';

/**
 * Where a rate-limit decision writes its RateLimit-* fields: an Express response, or the
 * metadata of a gRPC call.
 */
export interface RateLimitHeaderSink {
  setHeader(name: string, value: string): unknown;
}

/**
 * Per-credential request limits. `admit` sets the RateLimit-* headers on `res` and throws
 * TooManyRequestsError (429 with Retry-After) when the credential is over its limit.
 * Bound to TokenBucketRateLimits (rate-limit/token-bucket-rate-limits.ts).
 */
export abstract class RateLimits {
  abstract admit(principal: Principal, res: RateLimitHeaderSink): Promise<void>;
}

import { Metadata, status as GrpcStatus, StatusObject } from '@grpc/grpc-js';
import { DomainError } from '../../common/errors';
import { SafeErrorKind, toSafeError } from '../../common/safe-error';

/**
 * The gRPC status of each error kind: the codes KServe and Triton answer for the same failures.
 * 409 (a version that is not ready) is a precondition; every refusal for size or load is
 * RESOURCE_EXHAUSTED, which gRPC clients treat as "retry later or send less".
 */
const STATUS_BY_KIND: Record<SafeErrorKind, GrpcStatus> = {
  invalid: GrpcStatus.INVALID_ARGUMENT,
  inference_failed: GrpcStatus.INVALID_ARGUMENT,
  unsupported_media: GrpcStatus.INVALID_ARGUMENT,
  unprocessable: GrpcStatus.INVALID_ARGUMENT,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  forbidden: GrpcStatus.PERMISSION_DENIED,
  not_found: GrpcStatus.NOT_FOUND,
  conflict: GrpcStatus.FAILED_PRECONDITION,
  too_large: GrpcStatus.RESOURCE_EXHAUSTED,
  output_too_large: GrpcStatus.RESOURCE_EXHAUSTED,
  too_many: GrpcStatus.RESOURCE_EXHAUSTED,
  insufficient_storage: GrpcStatus.RESOURCE_EXHAUSTED,
  unavailable: GrpcStatus.UNAVAILABLE,
  timeout: GrpcStatus.DEADLINE_EXCEEDED,
  internal: GrpcStatus.INTERNAL,
};

/**
 * The status a failed call answers: the code of the error's kind and its client-safe message
 * (toSafeError: anything that is not a domain error is INTERNAL with a message naming the request
 * id, never its text or stack). Domain messages name the tensor or field themselves, so `details`
 * (REST's per-field list) is not repeated. `trailers` (the RateLimit fields, if any) gain `retry-after` for
 * errors that carry it.
 */
export function grpcStatusOf(error: unknown, requestId: string, trailers: Metadata): StatusObject {
  const safe = toSafeError(error, `request id ${requestId}`);
  if (error instanceof DomainError && error.retryAfterSeconds !== undefined) {
    trailers.set('retry-after', String(error.retryAfterSeconds));
  }
  return { code: STATUS_BY_KIND[safe.kind], details: safe.message, metadata: trailers };
}

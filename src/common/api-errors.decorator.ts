import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed or invalid input',
  401: 'Missing or invalid credentials',
  403: 'Role not allowed',
  404: 'Unknown resource',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Well-formed but unusable',
  429: 'Rate limited (the credential is over its per-minute limit) or queue full; see Retry-After',
  503: 'Not ready, shutting down, or too many request bodies in flight (see Retry-After)',
  504: 'Timed out',
  507: 'The data folder has too little free space (MIN_FREE_DISK_BYTES)',
};

const integer = (description: string) => ({ description, schema: { type: 'integer' as const, minimum: 0 } });

/** Headers of a 429; the RateLimit fields come with a refusal of the rate limiter (not a full queue). */
const TOO_MANY_HEADERS = {
  'Retry-After': integer('Seconds to wait before retrying'),
  'RateLimit-Limit': integer("The credential's requests per minute (also its burst)"),
  'RateLimit-Remaining': integer('Requests the credential may make now (0)'),
  'RateLimit-Reset': integer('Seconds until the next request is allowed (the same instant as Retry-After)'),
  'RateLimit-Policy': {
    description: 'The limit and its window in seconds, e.g. `600;w=60`',
    schema: { type: 'string' as const },
  },
};

/** Documents the error responses of an operation with the shared error body. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        type: ErrorResponseDto,
        ...(status === 429 ? { headers: TOO_MANY_HEADERS } : {}),
      }),
    ),
  );
}

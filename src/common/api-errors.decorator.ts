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
  429: 'Rate limited or queue full (see Retry-After)',
  503: 'Not ready, shutting down, or too many request bodies in flight (see Retry-After)',
  504: 'Timed out',
  507: 'The data folder has too little free space (MIN_FREE_DISK_BYTES)',
};

/** Documents the error responses of an operation with the shared error body. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ErrorResponseDto }),
    ),
  );
}

import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';

/** Largest value any integer query or path parameter takes (a PostgreSQL `integer`). */
export const MAX_INT_PARAM = 2_147_483_647;

const DECIMAL = /^(0|[1-9]\d{0,15})$/;

/**
 * A strict decimal integer from a query string: digits only, no sign, exponent, hex prefix,
 * spaces or repeats (`1e20`, `0x10`, ` 1`, `skip=1&skip=2` are all refused with 400), within
 * [min, max]. Anything else is left as it came, so IsInt reports it.
 */
export function QueryInt(min: number, max = MAX_INT_PARAM): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value,
    ),
    IsInt({ message: `$property must be a decimal integer from ${min} to ${max}` }),
    Min(min, { message: `$property must be a decimal integer from ${min} to ${max}` }),
    Max(max, { message: `$property must be a decimal integer from ${min} to ${max}` }),
  );
}

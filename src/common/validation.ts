import { ValidationError, ValidationPipe } from '@nestjs/common';
import { ErrorDetail, InvalidInputError } from './errors';

function flatten(errors: ValidationError[], prefix = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    // One rule can fail several constraints with the same message (a strict integer that is not one).
    const own = [...new Set(Object.values(error.constraints ?? {}))].map((problem) => ({ field, problem }));
    return own.concat(flatten(error.children ?? [], field));
  });
}

function toInvalidInput(errors: ValidationError[]): InvalidInputError {
  const details = flatten(errors);
  return new InvalidInputError(details.map((d) => d.problem).join('; '), details);
}

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: false } as const;

/**
 * Nest's pipe turns a path or query parameter typed `number` into `Number(value)` before the
 * parameter's own pipe sees it, so `0x10` would arrive as 16 and `1e20` as a huge integer. Raw
 * strings reach the parameter pipes here (VersionNumberPipe, QueryInt), which accept decimals only.
 */
class StrictValidationPipe extends ValidationPipe {
  protected override transformPrimitive(value: unknown): unknown {
    return value;
  }
}

/** Whitelisting validation: unknown fields are rejected, types converted, errors listed per field. */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    ...OPTIONS,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: toInvalidInput,
  });
}

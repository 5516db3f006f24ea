import { ValidationError, ValidationPipe } from '@nestjs/common';
import { ErrorDetail, InvalidInputError } from './errors';

function flatten(errors: ValidationError[], prefix = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((problem) => ({ field, problem }));
    return own.concat(flatten(error.children ?? [], field));
  });
}

function toInvalidInput(errors: ValidationError[]): InvalidInputError {
  const details = flatten(errors);
  return new InvalidInputError(details.map((d) => d.problem).join('; '), details);
}

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: false } as const;

/** Whitelisting validation: unknown fields are rejected, types converted, errors listed per field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    ...OPTIONS,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: toInvalidInput,
  });
}

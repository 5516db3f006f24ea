import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { validate } from 'class-validator';
import { ErrorDetail, InvalidInputError } from './errors';

const SHALLOW_BODY = Symbol('modelforge:shallow-body');

/**
 * Marks a DTO whose own fields are validated but whose nested values are kept exactly as sent,
 * without class-transformer walking them: tensors of a million numbers would cost more to copy
 * than the model costs to run. Nested values are checked by the feature (the tensor codec).
 */
export function ShallowBody(): ClassDecorator {
  return (target) => Reflect.defineMetadata(SHALLOW_BODY, true, target);
}

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

class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const type = metadata.metatype;
    if (metadata.type === 'body' && type && Reflect.getMetadata(SHALLOW_BODY, type)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new InvalidInputError('The request body must be a JSON object');
      }
      const instance = Object.assign(Object.create(type.prototype as object) as object, value);
      const errors = await validate(instance, OPTIONS);
      if (errors.length > 0) throw toInvalidInput(errors);
      return instance;
    }
    return super.transform(value, metadata);
  }
}

/** Whitelisting validation: unknown fields are rejected, types converted, errors listed per field. */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    ...OPTIONS,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: toInvalidInput,
  });
}

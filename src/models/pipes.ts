import { Injectable, PipeTransform } from '@nestjs/common';
import { InvalidInputError } from '../common/errors';
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from './model-name';
import { ALIAS_RULE, isAlias } from './version-ref';

@Injectable()
export class ModelNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!MODEL_NAME_PATTERN.test(value)) {
      throw new InvalidInputError(`Model name ${MODEL_NAME_RULE}`, [{ field: 'name', problem: MODEL_NAME_RULE }]);
    }
    return value;
  }
}

/** An alias name in a path: 400 for a number-shaped one, `latest`, or one off the pattern. */
@Injectable()
export class AliasNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isAlias(value)) {
      throw new InvalidInputError(`Alias '${value.slice(0, 40)}' ${ALIAS_RULE}`, [
        { field: 'alias', problem: ALIAS_RULE },
      ]);
    }
    return value;
  }
}

@Injectable()
export class VersionNumberPipe implements PipeTransform<unknown, number> {
  transform(raw: unknown): number {
    const value = String(raw);
    const version = /^[1-9]\d{0,9}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(version) || version > 2_147_483_647) {
      throw new InvalidInputError(`Version must be a positive integer, got '${value.slice(0, 20)}'`, [
        { field: 'version', problem: 'must be a positive integer' },
      ]);
    }
    return version;
  }
}

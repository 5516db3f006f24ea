import { Injectable, PipeTransform } from '@nestjs/common';
import { InvalidInputError } from '../../common/errors';

/** Usernames follow the model-name rule: lowercase, URL-safe, so they sit in paths as they are. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const USERNAME_RULE =
  'must match ^[a-z0-9][a-z0-9._-]{0,63}$: 1-64 characters, lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/** The `{username}` path parameter: 400 when it cannot be a username. */
@Injectable()
export class UsernamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!USERNAME_PATTERN.test(value)) {
      throw new InvalidInputError(`username ${USERNAME_RULE}`, [{ field: 'username', problem: USERNAME_RULE }]);
    }
    return value;
  }
}

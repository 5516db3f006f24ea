import { Injectable, PipeTransform } from '@nestjs/common';
import { InvalidInputError } from '../common/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class JobIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID.test(value)) {
      throw new InvalidInputError(`Job id must be a UUID, got '${value.slice(0, 40)}'`, [
        { field: 'id', problem: 'must be a UUID' },
      ]);
    }
    return value.toLowerCase();
  }
}

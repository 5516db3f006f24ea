import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { MAX_VERSION_NUMBER } from '../version-ref';

const VERSION_NUMBER_RULE = `version must be a version number from 1 to ${MAX_VERSION_NUMBER}`;

/** PUT /api/v1/models/{name}/aliases/{alias}: an alias points at a version number, never at another alias. */
export class SetAliasDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_VERSION_NUMBER, example: 2 })
  @IsInt({ message: VERSION_NUMBER_RULE })
  @Min(1, { message: VERSION_NUMBER_RULE })
  @Max(MAX_VERSION_NUMBER, { message: VERSION_NUMBER_RULE })
  version: number;
}

import { PageDtoOf } from '../../common/pagination';
import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import {
  MAX_DESCRIPTION_LENGTH,
  MAX_TAGS,
  MODEL_NAME_PATTERN,
  MODEL_NAME_RULE,
  TAG_PATTERN,
  TAG_RULE,
} from '../model-name';

/**
 * Optional, but not nullable: an absent field is skipped, a `null` one is validated (and refused)
 * rather than written as NULL into a NOT NULL column.
 */
const Present = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

export class CacheSettingsDto {
  @ApiPropertyOptional({ description: 'Cache predictions of this model' })
  @Present()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 2592000, description: 'How long an entry lives' })
  @Present()
  @IsInt()
  @Min(1)
  @Max(2_592_000)
  ttlSeconds?: number;
}

export class CacheSettingsViewDto {
  @ApiProperty()
  enabled: boolean;

  @ApiProperty({ type: 'integer' })
  ttlSeconds: number;
}

export class CreateModelDto {
  @ApiProperty({ pattern: MODEL_NAME_PATTERN.source, example: 'iris', description: MODEL_NAME_RULE })
  @IsString({ message: 'name must be a string' })
  @Matches(MODEL_NAME_PATTERN, { message: `name ${MODEL_NAME_RULE}` })
  name: string;

  @ApiPropertyOptional({ maxLength: MAX_DESCRIPTION_LENGTH, example: 'Iris species classifier' })
  @Present()
  @IsString()
  @MaxLength(MAX_DESCRIPTION_LENGTH)
  description?: string;

  @ApiPropertyOptional({ type: [String], maxItems: MAX_TAGS, example: ['tabular', 'demo'] })
  @Present()
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @ArrayUnique({ message: 'tags must not repeat' })
  @IsString({ each: true })
  @Matches(TAG_PATTERN, { each: true, message: `tags: ${TAG_RULE}` })
  tags?: string[];

  @ApiPropertyOptional({
    type: CacheSettingsDto,
    description: 'Prediction cache settings (defaults from configuration)',
  })
  @Present()
  @ValidateNested()
  @Type(() => CacheSettingsDto)
  cache?: CacheSettingsDto;

  @ApiPropertyOptional({ description: 'Keep request inputs and outputs in the prediction log' })
  @Present()
  @IsBoolean()
  logPayloads?: boolean;
}

/** Everything of CreateModelDto but the name, all optional; tags replace the list. */
export class UpdateModelDto extends PartialType(OmitType(CreateModelDto, ['name'] as const), {
  skipNullProperties: false,
}) {}

export class ListModelsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Case-insensitive search in name and description', maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  q?: string;

  @ApiPropertyOptional({ description: 'Only models carrying this tag' })
  @IsOptional()
  @IsString()
  @Matches(TAG_PATTERN, { message: `tag: ${TAG_RULE}` })
  tag?: string;
}

export class ModelDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'iris' })
  name: string;

  @ApiProperty()
  description: string;

  @ApiProperty({ type: [String] })
  tags: string[];

  @ApiProperty({ type: 'integer', nullable: true, description: 'Highest ready version, null when none' })
  latestVersion: number | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { champion: 2 },
    description: 'Alias name to version number',
  })
  aliases: Record<string, number>;

  @ApiProperty({ type: CacheSettingsViewDto, description: 'Effective prediction cache settings' })
  cache: CacheSettingsViewDto;

  @ApiProperty({ description: 'Request inputs and outputs are kept in the prediction log' })
  logPayloads: boolean;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class ModelPageDto extends PageDtoOf(ModelDto, 'ModelPageDto') {}

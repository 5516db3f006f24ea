import { PageDtoOf } from '../../common/pagination';
import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
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
import { BATCHING_DEFAULTS, BATCHING_LIMITS, BATCHING_VERSION_RULE } from '../batching-settings';
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

const { minBatchSize, maxBatchSize, maxQueueDelayMs, maxPreferredSizes } = BATCHING_LIMITS;
const BATCH_SIZE_RULE = `an integer from ${minBatchSize} to ${maxBatchSize}`;

export class BatchingSettingsDto {
  @ApiPropertyOptional({
    description: `Stack concurrent requests of one version into one run (default ${BATCHING_DEFAULTS.enabled})`,
  })
  @Present()
  @IsBoolean({ message: 'batching.enabled must be a boolean' })
  enabled?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: minBatchSize,
    maximum: maxBatchSize,
    description: `Most rows (along dimension 0) one run takes (default ${BATCHING_DEFAULTS.maxBatchSize})`,
  })
  @Present()
  @IsInt({ message: `batching.maxBatchSize must be ${BATCH_SIZE_RULE}` })
  @Min(minBatchSize, { message: `batching.maxBatchSize must be ${BATCH_SIZE_RULE}` })
  @Max(maxBatchSize, { message: `batching.maxBatchSize must be ${BATCH_SIZE_RULE}` })
  maxBatchSize?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: maxQueueDelayMs,
    description:
      'Longest a request waits for others to fill a batch, in milliseconds ' +
      `(default ${BATCHING_DEFAULTS.maxQueueDelayMs}, as in Triton: only requests already waiting are batched)`,
  })
  @Present()
  @IsInt({ message: `batching.maxQueueDelayMs must be an integer from 0 to ${maxQueueDelayMs}` })
  @Min(0, { message: `batching.maxQueueDelayMs must be an integer from 0 to ${maxQueueDelayMs}` })
  @Max(maxQueueDelayMs, { message: `batching.maxQueueDelayMs must be an integer from 0 to ${maxQueueDelayMs}` })
  maxQueueDelayMs?: number;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'integer', minimum: minBatchSize, maximum: maxBatchSize },
    maxItems: maxPreferredSizes,
    uniqueItems: true,
    description:
      'Batch sizes (in rows) sent at once without waiting out maxQueueDelayMs, each from ' +
      `${minBatchSize} to maxBatchSize, distinct, stored ascending (default none)`,
  })
  @Present()
  @IsArray({ message: 'batching.preferredBatchSizes must be an array of integers' })
  @ArrayMaxSize(maxPreferredSizes, {
    message: `batching.preferredBatchSizes must have at most ${maxPreferredSizes} sizes`,
  })
  @ArrayUnique({ message: 'batching.preferredBatchSizes must not repeat' })
  @IsInt({
    each: true,
    message: `batching.preferredBatchSizes must hold integers from ${minBatchSize} to maxBatchSize`,
  })
  @Min(minBatchSize, {
    each: true,
    message: `batching.preferredBatchSizes must hold integers from ${minBatchSize} to maxBatchSize`,
  })
  preferredBatchSizes?: number[];
}

export class BatchingSettingsViewDto {
  @ApiProperty()
  enabled: boolean;

  @ApiProperty({ type: 'integer' })
  maxBatchSize: number;

  @ApiProperty({ type: 'integer' })
  maxQueueDelayMs: number;

  @ApiProperty({ type: 'array', items: { type: 'integer' }, description: 'Ascending' })
  preferredBatchSizes: number[];
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

  @ApiPropertyOptional({
    type: BatchingSettingsDto,
    description: `Dynamic batching; fields left out keep their current values. ${BATCHING_VERSION_RULE}`,
  })
  @Present()
  @IsObject({ message: 'batching must be an object' })
  @ValidateNested()
  @Type(() => BatchingSettingsDto)
  batching?: BatchingSettingsDto;
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

  @ApiProperty({
    type: BatchingSettingsViewDto,
    description:
      `Effective dynamic batching settings; a model that never set them shows the defaults (enabled ` +
      `${BATCHING_DEFAULTS.enabled}, maxBatchSize ${BATCHING_DEFAULTS.maxBatchSize}, maxQueueDelayMs ` +
      `${BATCHING_DEFAULTS.maxQueueDelayMs}, no preferred sizes)`,
  })
  batching: BatchingSettingsViewDto;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class ModelPageDto extends PageDtoOf(ModelDto, 'ModelPageDto') {}

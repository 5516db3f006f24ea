import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { PageDtoOf } from '../../common/pagination';
import { MODEL_PATTERN } from '../model-patterns';
import { Role, ROLES } from '../roles';

export const MAX_KEY_MODEL_PATTERNS = 100;

export class CreateApiKeyDto {
  @ApiProperty({
    description: 'A label for people (1-64 characters)',
    minLength: 1,
    maxLength: 64,
    example: 'fraud-scorer',
  })
  @IsString()
  @Matches(/^\P{Cc}{1,64}$/u, { message: 'name must be 1-64 printable characters' })
  name: string;

  @ApiProperty({ enum: ROLES, enumName: 'Role' })
  @IsIn(ROLES)
  role: Role;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'When the key stops working (future, ISO 8601)',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;

  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_KEY_MODEL_PATTERNS,
    description: 'Model names or prefixes ending in * the key may touch (omit for every model)',
    example: ['iris', 'fraud-*'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_KEY_MODEL_PATTERNS)
  @IsString({ each: true })
  @Matches(MODEL_PATTERN, { each: true, message: 'each of models must be a model name, optionally ending in *' })
  models?: string[];

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1_000_000, description: 'Overrides the role default' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  rateLimitPerMinute?: number;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ enum: ROLES, enumName: 'Role' })
  role: Role;

  @ApiProperty({ description: 'The public start of the key, to recognise it', example: 'mf_Ab3dE6gH' })
  prefix: string;

  @ApiProperty({ type: [String], nullable: true, description: 'Model patterns; null = every model' })
  models: string[] | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'null = the role default' })
  rateLimitPerMinute: number | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expiresAt: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Updated in batches (about every 15 s)',
  })
  lastUsedAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  revokedAt: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The secret: shown only in this response; store it now' })
  key: string;
}

export const ApiKeyPageDto = PageDtoOf(ApiKeyDto, 'ApiKeyPageDto');

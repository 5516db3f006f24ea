import { PageDtoOf } from '../../common/pagination';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength, ValidateBy, ValidateIf } from 'class-validator';
import { VERSION_STATUSES, VersionMetadata, VersionStatus } from '../entities/model-version.entity';
import { MAX_DESCRIPTION_LENGTH } from '../model-name';
import { METADATA_LIMITS, METADATA_RULE, metadataProblem } from '../version-metadata';
import { TENSOR_DTYPES, TensorDtype } from '../../inference/tensor-spec';

const METADATA_SCHEMA = {
  type: 'object' as const,
  maxProperties: METADATA_LIMITS.maxKeys,
  additionalProperties: {
    oneOf: [{ type: 'string' as const, maxLength: METADATA_LIMITS.maxStringLength }, { type: 'number' as const }],
  },
  example: { accuracy: 0.97, dataset: 'iris-2025-11', commit: '4f2a9c1' },
};

export class TensorSpecDto {
  @ApiProperty({ example: 'x' })
  name: string;

  @ApiProperty({ enum: TENSOR_DTYPES, enumName: 'TensorDtype', example: 'float32' })
  dtype: TensorDtype;

  @ApiProperty({ type: [Number], example: [-1, 4], description: '-1 marks a dynamic dimension' })
  shape: number[];

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', nullable: true },
    example: ['batch', null],
    description: 'Symbolic names of the dimensions, null where none',
  })
  dimNames?: (string | null)[];
}

export class ModelVersionDto {
  @ApiProperty({ example: 'iris' })
  model: string;

  @ApiProperty({ type: 'integer', example: 1 })
  version: number;

  @ApiProperty({
    enum: VERSION_STATUSES,
    enumName: 'VersionStatus',
    description:
      'ready: served; archived: served only when pinned by number; failed: its file failed the check at start ' +
      '(missing, or bytes that no longer match sha256), never served',
  })
  status: VersionStatus;

  @ApiProperty({ type: 'string', nullable: true, description: 'Why the version failed; null unless failed' })
  failureReason: string | null;

  @ApiProperty()
  description: string;

  @ApiProperty({ ...METADATA_SCHEMA, description: 'Free-form facts about the version, set by PATCH' })
  metadata: VersionMetadata;

  @ApiProperty({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' })
  sha256: string;

  @ApiProperty({ type: 'integer' })
  sizeBytes: number;

  @ApiProperty({ type: 'integer' })
  irVersion: number;

  @ApiProperty({ type: 'integer', description: 'Opset of the default ONNX domain' })
  opsetVersion: number;

  @ApiProperty()
  producerName: string;

  @ApiProperty()
  producerVersion: string;

  @ApiProperty({ type: [TensorSpecDto] })
  inputs: TensorSpecDto[];

  @ApiProperty({ type: [TensorSpecDto] })
  outputs: TensorSpecDto[];

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

/** The statuses a PATCH may set; `failed` is the server's to write. */
export const SETTABLE_STATUSES = ['ready', 'archived'] as const;

/** Optional, not nullable: an absent field is skipped, a `null` one refused. */
const Present = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

/** PATCH /api/v1/models/{name}/versions/{version}: fields left out stay as they are. */
export class UpdateVersionDto {
  @ApiPropertyOptional({ maxLength: MAX_DESCRIPTION_LENGTH })
  @Present()
  @IsString({ message: 'description must be a string' })
  @MaxLength(MAX_DESCRIPTION_LENGTH, { message: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters` })
  description?: string;

  @ApiPropertyOptional({
    enum: SETTABLE_STATUSES,
    description:
      'archived: not served unless pinned by number (the latest and aliases skip it: an alias pointing at ' +
      'it answers 409); ready: served again',
  })
  @Present()
  @IsIn(SETTABLE_STATUSES, { message: `status must be one of ${SETTABLE_STATUSES.join(', ')}` })
  status?: (typeof SETTABLE_STATUSES)[number];

  @ApiPropertyOptional({ ...METADATA_SCHEMA, description: `Replaces the whole metadata; ${METADATA_RULE}` })
  @Present()
  @ValidateBy({
    name: 'isVersionMetadata',
    validator: {
      validate: (value: unknown) => metadataProblem(value) === undefined,
      defaultMessage: (args) => metadataProblem(args?.value) ?? METADATA_RULE,
    },
  })
  metadata?: VersionMetadata;
}

export class ModelVersionPageDto extends PageDtoOf(ModelVersionDto, 'ModelVersionPageDto') {}

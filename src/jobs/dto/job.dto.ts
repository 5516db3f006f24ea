import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions, getSchemaPath } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { PageDtoOf, PageQueryDto } from '../../common/pagination';
import { SAFE_ERROR_KINDS, SafeErrorKind } from '../../common/safe-error';
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from '../../models/model-name';
import { OutputTensorDto, TENSOR_INPUTS_SCHEMA } from '../../predictions/dto/prediction.dto';
import { JOB_STATUSES, JobStatus } from '../entities/job.entity';
import { parseVersionRef, VERSION_REF_RULE, VersionRef, versionRefSchema } from '../../models/version-ref';

/**
 * A version in the query: decimal digits (1..2147483647), an alias name or `latest`. Anything else
 * (`1e20`, `0x10`, ` 1`, empty, a repeated parameter) becomes NaN, which IsInt refuses with a 400.
 */
function strictVersion({ value }: { value: unknown }): unknown {
  if (value === undefined) return undefined;
  // An empty parameter is a mistake here, not a way to say "latest" (leave it out, or send `latest`).
  const ref = typeof value === 'string' && value !== '' ? parseVersionRef(value) : null;
  return ref === null ? Number.NaN : ref;
}

/** The named `ErrorKind` enum; its description is the schema's own, whichever property comes first. */
const ERROR_KIND: ApiPropertyOptions = {
  enum: SAFE_ERROR_KINDS,
  enumName: 'ErrorKind',
  enumSchema: {
    description:
      'Stable kind of an error: an HTTP error kind (invalid, not_found, timeout, unavailable, ...), ' +
      'inference_failed (ONNX Runtime rejected the inputs), output_too_large (over MAX_OUTPUT_ELEMENTS), ' +
      'or internal (the server log has the details)',
  },
};

const INPUTS_SCHEMA: ApiPropertyOptions = {
  ...TENSOR_INPUTS_SCHEMA,
  description: 'Input name to tensor, exactly as in a prediction request',
};

export class JobInstanceDto {
  @ApiProperty(INPUTS_SCHEMA)
  inputs: Record<string, unknown>;
}

/** The JSON body of POST /api/v1/jobs (checked by parseJobBody, without a copy of the tensors). */
export class CreateJobDto {
  @ApiProperty({ example: 'iris', pattern: MODEL_NAME_PATTERN.source })
  model: string;

  @ApiPropertyOptional(
    versionRefSchema(
      "Resolved once, at submission; the job records the number. Default: the version the model's traffic split picks, else the latest ready version; `latest`: the latest ready version",
    ),
  )
  version?: VersionRef;

  @ApiProperty({
    type: [JobInstanceDto],
    minItems: 1,
    description:
      'Each instance is checked against the signature before anything is queued (at most JOBS_MAX_INSTANCES)',
  })
  instances: JobInstanceDto[];
}

/** Query of POST /api/v1/jobs: the model of an NDJSON upload (a JSON body names it itself). */
export class SubmitJobQueryDto {
  @ApiPropertyOptional({
    description: 'Model name, for an application/x-ndjson upload',
    pattern: MODEL_NAME_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @Matches(MODEL_NAME_PATTERN, { message: `model ${MODEL_NAME_RULE}` })
  model?: string;

  @ApiPropertyOptional({
    type: 'string',
    example: '2',
    description: 'Version number (decimal digits) or alias name, for an application/x-ndjson upload',
  })
  @IsOptional()
  @Transform(strictVersion)
  // An alias name passed strictVersion's check; anything else left is a number, or NaN.
  @ValidateIf((_query: object, value: unknown) => typeof value !== 'string')
  @IsInt({ message: `version ${VERSION_REF_RULE}` })
  version?: VersionRef;
}

export class ListJobsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: JOB_STATUSES, enumName: 'JobStatus' })
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;

  @ApiPropertyOptional({ description: 'Only jobs of this model', pattern: MODEL_NAME_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(MODEL_NAME_PATTERN, { message: `model ${MODEL_NAME_RULE}` })
  model?: string;
}

export class JobProgressDto {
  @ApiProperty({ type: 'integer', description: 'Instances with a result (outputs or error)' })
  done: number;

  @ApiProperty({ type: 'integer' })
  total: number;

  @ApiProperty({ description: '100 * done / total, two decimals' })
  percent: number;
}

export class JobDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'iris' })
  model: string;

  @ApiProperty({ type: 'integer', example: 2, description: 'The version resolved at submission' })
  version: number;

  @ApiProperty({ enum: JOB_STATUSES, enumName: 'JobStatus' })
  status: JobStatus;

  @ApiProperty({ type: JobProgressDto })
  progress: JobProgressDto;

  @ApiProperty({
    type: 'integer',
    description: 'Times a worker started the job (a retry, or a resume after a crash or a shutdown, counts)',
  })
  attempts: number;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description:
      'Why the job failed, or why its last attempt failed while it waits for a retry. Internal details ' +
      '(stack traces, ONNX Runtime or database messages) are never shown: they are in the server log under the job id',
  })
  error: string | null;

  @ApiProperty({ ...ERROR_KIND, nullable: true, description: 'Kind of `error`; null when there is none' })
  errorKind: SafeErrorKind | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'key:0b6f3c1e-8d2a-4f5e-9c7b-1a2b3c4d5e6f',
    description:
      'The credential that submitted the job: key:<id>, user:<id>, admin-key, or auth-disabled; null on jobs ' +
      'submitted before access control',
  })
  actor: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  startedAt: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  finishedAt: string | null;
}

export class JobPageDto extends PageDtoOf(JobDto, 'JobPageDto') {}

export class JobResultDto {
  @ApiProperty({ type: 'integer', description: 'Position of the instance in the submission, from 0' })
  index: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(OutputTensorDto) },
    description: 'As in a prediction response; absent when the instance failed',
  })
  outputs?: Record<string, OutputTensorDto>;

  @ApiPropertyOptional({
    description: 'Why this instance failed, safe to show (internals are in the server log); absent when it has outputs',
  })
  error?: string;

  @ApiPropertyOptional({ ...ERROR_KIND, description: 'Kind of `error`, present with it' })
  errorKind?: SafeErrorKind;
}

export class JobResultPageDto {
  @ApiProperty({ type: [JobResultDto] })
  items: JobResultDto[];

  @ApiProperty({ type: 'integer', description: 'Results so far (progress.done)' })
  total: number;

  @ApiProperty({ type: 'integer' })
  skip: number;

  @ApiProperty({ type: 'integer' })
  limit: number;
}

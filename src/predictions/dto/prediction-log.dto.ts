import { PageDtoOf } from '../../common/pagination';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { MAX_INT_PARAM, QueryInt } from '../../common/strict-int';
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from '../../models/model-name';
import { PREDICTION_PROTOCOLS, PredictionProtocol } from '../prediction-protocol';
import type { PredictionRole } from '../entities/prediction.entity';

export class ListPredictionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only this model' })
  @IsOptional()
  @IsString()
  @Matches(MODEL_NAME_PATTERN, { message: `model ${MODEL_NAME_RULE}` })
  model?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_INT_PARAM, description: 'Only this version' })
  @IsOptional()
  @QueryInt(1)
  version?: number;

  @ApiPropertyOptional({
    description: 'ok, or an error kind: invalid, not_found, inference_failed, output_too_large, timeout, internal, ...',
  })
  @IsOptional()
  @IsString()
  @MaxLength(24)
  status?: string;
}

export class PredictionLogDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string', nullable: true })
  model: string | null;

  @ApiProperty({ type: 'integer', nullable: true })
  version: number | null;

  @ApiProperty({
    example: 'ok',
    description:
      'ok, or the kind of the error (see ErrorKind): invalid, not_found, inference_failed, output_too_large, internal, ...',
  })
  status: string;

  @ApiProperty({ type: 'integer', example: 200 })
  statusCode: number;

  @ApiProperty()
  cached: boolean;

  @ApiProperty({ description: 'Time in the service, milliseconds' })
  latencyMs: number;

  @ApiProperty({ type: 'string', nullable: true, description: 'Canonical sha256 of the inputs' })
  inputHash: string | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    description:
      'The message the client got; internal details (stack traces, ONNX Runtime messages) are only in the ' +
      'server log, under the request id',
  })
  error: string | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'key:0b6f3c1e-8d2a-4f5e-9c7b-1a2b3c4d5e6f',
    description:
      'The credential that made the prediction: key:<id>, user:<id>, admin-key, or auth-disabled; null on rows ' +
      'written before access control',
  })
  actor: string | null;

  @ApiProperty({
    enum: PREDICTION_PROTOCOLS,
    enumName: 'PredictionProtocol',
    example: 'rest',
    description:
      'How the prediction came in: rest (POST /api/v1/predictions), oip-rest or oip-grpc (Open Inference Protocol)',
  })
  protocol: PredictionProtocol;

  @ApiProperty({
    enum: ['served', 'shadow'],
    description:
      '`served`: a request answered to a client; `shadow`: a traffic policy shadow run of a served request, whose ' +
      'result went nowhere else (status `dropped` when SHADOW_MAX_IN_FLIGHT was reached)',
  })
  role: PredictionRole;

  @ApiProperty({
    type: 'string',
    format: 'uuid',
    nullable: true,
    description: 'A shadow row: the served row it mirrored',
  })
  servedId: string | null;

  @ApiProperty({
    type: 'boolean',
    nullable: true,
    description:
      'A shadow row: whether its outputs agreed with the served ones (argmax for classifier-shaped outputs, else max ' +
      'relative difference within 1e-3); null when not compared',
  })
  agrees: boolean | null;

  @ApiProperty({
    type: 'number',
    nullable: true,
    description: 'A shadow row: largest relative difference of its outputs',
  })
  maxRelDiff: number | null;

  @ApiPropertyOptional({ description: 'The request body, for models that opted in (logPayloads)' })
  inputs?: string;

  @ApiPropertyOptional({ description: 'The outputs, for models that opted in (logPayloads)' })
  outputs?: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export class PredictionLogPageDto extends PageDtoOf(PredictionLogDto, 'PredictionLogPageDto') {}

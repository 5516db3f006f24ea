import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions, getSchemaPath } from '@nestjs/swagger';
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from '../../models/model-name';
import { VersionRef, versionRefSchema } from '../../models/version-ref';
import { TENSOR_DTYPES, TensorDtype } from '../../inference/tensor-spec';

export class TensorInputDto {
  @ApiProperty({ type: [Number], example: [1, 4], description: 'Dimensions of the tensor' })
  shape: number[];

  @ApiProperty({
    type: 'array',
    items: { oneOf: [{ type: 'number' }, { type: 'string' }, { type: 'boolean' }] },
    example: [5.1, 3.5, 1.4, 0.2],
    description: 'Flat, row-major values',
  })
  data: (number | string | boolean)[];

  @ApiPropertyOptional({ enum: TENSOR_DTYPES, enumName: 'TensorDtype', description: 'Must match the model when given' })
  dtype?: TensorDtype;
}

/** How an `inputs` map is documented wherever a request carries one (predictions, job instances). */
export const TENSOR_INPUTS_SCHEMA: ApiPropertyOptions = {
  type: 'object' as const,
  additionalProperties: {
    oneOf: [
      { $ref: getSchemaPath(TensorInputDto) },
      { type: 'array', items: {} },
      { type: 'number' },
      { type: 'string' },
      { type: 'boolean' },
    ],
  },
  example: { x: [[5.1, 3.5, 1.4, 0.2]] },
  description:
    'Input name to tensor: a nested array (shape inferred, must be rectangular), a bare scalar, or {shape, data, dtype?}. ' +
    'int64 values may be decimal strings.',
};

/**
 * The prediction body, for the OpenAPI document. It is checked by parsePredictBody
 * (inference/predict-envelope.ts: on the HTTP thread for small bodies, in an inference process
 * for large ones), not by the validation pipe: the body reaches the handler as raw bytes so that
 * a large one is never parsed on the HTTP thread.
 */
export class PredictRequestDto {
  @ApiProperty({ example: 'iris', pattern: MODEL_NAME_PATTERN.source, description: `model ${MODEL_NAME_RULE}` })
  model: string;

  @ApiPropertyOptional(
    versionRefSchema(
      "The response names the version that served. Default: the version the model's traffic split picks, else the latest ready version; `latest`: the latest ready version",
    ),
  )
  version?: VersionRef;

  @ApiProperty(TENSOR_INPUTS_SCHEMA)
  inputs: Record<string, unknown>;

  @ApiPropertyOptional({
    type: [String],
    minItems: 1,
    maxItems: 256,
    uniqueItems: true,
    example: ['y'],
    description: 'Only these outputs (default: all)',
  })
  outputs?: string[];
}

export class OutputTensorDto {
  @ApiProperty({ enum: TENSOR_DTYPES, enumName: 'TensorDtype' })
  dtype: TensorDtype;

  @ApiProperty({ type: [Number], example: [1, 3] })
  shape: number[];

  @ApiProperty({
    type: 'array',
    items: { oneOf: [{ type: 'number' }, { type: 'string' }, { type: 'boolean' }] },
    description: 'Flat, row-major; int64 beyond 2^53 as decimal strings',
  })
  data: (number | string | boolean)[];
}

export class PredictionTimingDto {
  @ApiProperty({ description: 'Time in the service for this request, in milliseconds' })
  totalMs: number;

  @ApiProperty({ description: 'Time inside ONNX Runtime, in milliseconds' })
  inferenceMs: number;
}

export class PredictionResponseDto {
  @ApiProperty({ example: 'iris' })
  model: string;

  @ApiProperty({ type: 'integer', example: 2 })
  version: number;

  @ApiProperty({ type: 'object', additionalProperties: { $ref: '#/components/schemas/OutputTensorDto' } })
  outputs: Record<string, OutputTensorDto>;

  @ApiProperty({ description: 'Served from the prediction cache' })
  cached: boolean;

  @ApiProperty({ type: PredictionTimingDto })
  timing: PredictionTimingDto;
}

import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiPropertyOptions,
  ApiResponse,
  OpenAPIObject,
} from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { OIP_DATATYPES, OipDatatype } from './oip-datatypes';

/** The `data` of a tensor: flat row-major values, or nested arrays (requests only). */
const TENSOR_DATA: ApiPropertyOptions = {
  type: 'array',
  items: { oneOf: [{ type: 'number' }, { type: 'string' }, { type: 'boolean' }, { type: 'array', items: {} }] },
  description:
    'Row-major values: numbers (INT64/UINT64 beyond 2^53 also as decimal strings in requests), booleans for ' +
    'BOOL, strings for BYTES. FP16 values are numbers rounded to half precision.',
};

const PARAMETERS = {
  type: 'object',
  additionalProperties: true,
  description: 'Protocol parameters (string, number or boolean values)',
} as const;

export class OipErrorDto {
  @ApiProperty({ example: "input 'x': binary_data_size 12 does not match shape [2, 3] x FP32 (24 bytes)" })
  error: string;
}

export class OipServerMetadataDto {
  @ApiProperty({ example: 'modelforge' })
  name: string;

  @ApiProperty({ example: '0.1.0' })
  version: string;

  @ApiProperty({ type: [String], example: ['binary_tensor_data'] })
  extensions: string[];
}

export class OipTensorMetadataDto {
  @ApiProperty({ example: 'x' })
  name: string;

  @ApiProperty({ enum: OIP_DATATYPES, enumName: 'OipDatatype', example: 'FP32' })
  datatype: OipDatatype;

  @ApiProperty({ type: [Number], example: [-1, 4], description: '-1 for a dynamic dimension' })
  shape: number[];
}

export class OipModelMetadataDto {
  @ApiProperty({ example: 'iris' })
  name: string;

  @ApiProperty({ type: [String], example: ['1', '2'], description: 'Ready versions, oldest first' })
  versions: string[];

  @ApiProperty({ example: 'onnxruntime_onnx' })
  platform: string;

  @ApiProperty({ type: [OipTensorMetadataDto] })
  inputs: OipTensorMetadataDto[];

  @ApiProperty({ type: [OipTensorMetadataDto] })
  outputs: OipTensorMetadataDto[];
}

export class OipInferInputDto {
  @ApiProperty({ example: 'x' })
  name: string;

  @ApiProperty({ type: [Number], example: [1, 4] })
  shape: number[];

  @ApiProperty({ enum: OIP_DATATYPES, enumName: 'OipDatatype', example: 'FP32' })
  datatype: OipDatatype;

  @ApiPropertyOptional({
    ...PARAMETERS,
    description: '`binary_data_size`: the tensor is in the binary part of the body (then no `data`)',
  })
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional(TENSOR_DATA)
  data?: unknown[];
}

export class OipRequestedOutputDto {
  @ApiProperty({ example: 'y' })
  name: string;

  @ApiPropertyOptional({ ...PARAMETERS, description: '`binary_data: true` sends this output as binary data' })
  parameters?: Record<string, unknown>;
}

export class OipInferRequestDto {
  @ApiPropertyOptional({ example: 'request-42', description: 'Echoed in the response' })
  id?: string;

  @ApiPropertyOptional({
    ...PARAMETERS,
    description: '`binary_data_output: true` sends every output not named otherwise as binary data',
  })
  parameters?: Record<string, unknown>;

  @ApiProperty({ type: [OipInferInputDto] })
  inputs: OipInferInputDto[];

  @ApiPropertyOptional({ type: [OipRequestedOutputDto], description: 'Omit for every output of the model' })
  outputs?: OipRequestedOutputDto[];
}

export class OipOutputTensorDto {
  @ApiProperty({ example: 'y' })
  name: string;

  @ApiProperty({ enum: OIP_DATATYPES, enumName: 'OipDatatype', example: 'FP32' })
  datatype: OipDatatype;

  @ApiProperty({ type: [Number], example: [1, 3] })
  shape: number[];

  @ApiPropertyOptional({ ...PARAMETERS, description: '`binary_data_size` when the data is in the binary part' })
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional({ ...TENSOR_DATA, description: 'Flat row-major values (absent for binary outputs)' })
  data?: unknown[];
}

export class OipInferResponseDto {
  @ApiProperty({ example: 'iris' })
  model_name: string;

  @ApiProperty({ example: '2' })
  model_version: string;

  @ApiPropertyOptional({ example: 'request-42' })
  id?: string;

  @ApiPropertyOptional(PARAMETERS)
  parameters?: Record<string, unknown>;

  @ApiProperty({ type: [OipOutputTensorDto] })
  outputs: OipOutputTensorDto[];
}

const PROTOCOL = 'Open Inference Protocol (KServe v2). Errors answer `{"error": "..."}`.';

export function OipOperationDocs(operationId: string, summary: string): MethodDecorator {
  return applyDecorators(
    ApiOperation({ operationId, summary, description: PROTOCOL }),
    ApiOkResponse({ type: OipServerMetadataDto }),
  );
}

/** Health and readiness: the status code is the answer, with an empty body. */
export function OipReadyDocs(operationId: string, summary: string): MethodDecorator {
  return applyDecorators(
    ApiOperation({ operationId, summary, description: `${PROTOCOL} Clients read the status, not a body.` }),
    ApiResponse({ status: 200, description: 'Ready (empty body)' }),
    ApiResponse({ status: 503, description: 'Not ready (empty body, or `{"error"}` for a model)' }),
    ApiErrors(404),
  );
}

export function OipModelMetadataDocs(operationId: string, summary: string): MethodDecorator {
  return applyDecorators(
    ApiOperation({ operationId, summary, description: PROTOCOL }),
    ApiOkResponse({ type: OipModelMetadataDto }),
    ApiErrors(404, 409),
  );
}

export function OipInferResponseDocs(operationId: string, summary: string): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      operationId,
      summary,
      description:
        `${PROTOCOL} A JSON body (any or no Content-Type), or, with the binary tensor data extension, the JSON ` +
        'request followed by raw little-endian tensor bytes in input order, its JSON length in ' +
        '`Inference-Header-Content-Length`. Binary outputs (`binary_data: true`, `binary_data_output: true`) ' +
        'follow the JSON response the same way, with `Content-Type: application/octet-stream` and ' +
        '`Inference-Header-Content-Length`. Response headers: X-Model-Version, X-Cache, Server-Timing. ' +
        'Send `Cache-Control: no-cache` to skip the cache lookup.',
    }),
    ApiExtraModels(OipInferInputDto, OipRequestedOutputDto, OipOutputTensorDto),
    ApiConsumes('application/json', 'application/octet-stream'),
    ApiBody({ type: OipInferRequestDto }),
    ApiHeader({
      name: 'Inference-Header-Content-Length',
      required: false,
      description: 'Length of the JSON part when binary tensors follow it',
    }),
    ApiOkResponse({ type: OipInferResponseDto }),
    ApiErrors(400, 404, 409, 413, 415, 503, 504),
  );
}

const ERROR_REF = '#/components/schemas/ErrorResponseDto';

/**
 * Operations under /v2 answer the protocol's error body: their error responses refer to
 * OipErrorDto instead of the shared ErrorResponseDto; a binary infer body is described as bytes.
 */
export function describeProtocolErrors(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    if (path !== '/v2' && !path.startsWith('/v2/')) continue;
    for (const operation of Object.values(item) as { responses?: Record<string, unknown>; requestBody?: unknown }[]) {
      for (const response of Object.values(operation.responses ?? {}) as {
        content?: Record<string, { schema?: { $ref?: string } }>;
      }[]) {
        const json = response.content?.['application/json'];
        if (json?.schema?.$ref === ERROR_REF) json.schema = { $ref: '#/components/schemas/OipErrorDto' };
      }
      const body = operation.requestBody as { content?: Record<string, unknown> } | undefined;
      if (body?.content?.['application/octet-stream']) {
        body.content['application/octet-stream'] = {
          schema: { type: 'string', format: 'binary', description: 'The JSON request, then the binary tensors' },
        };
      }
    }
  }
}

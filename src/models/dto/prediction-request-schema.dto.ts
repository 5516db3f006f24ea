import { ApiProperty } from '@nestjs/swagger';

/**
 * The OpenAPI face of a generated request schema (src/models/prediction-request-schema.ts): the
 * top-level keywords it always has. The body is a JSON Schema (draft 2020-12), to hand to a
 * validator as it is.
 */
export class PredictionRequestSchemaDto {
  @ApiProperty({ example: 'https://json-schema.org/draft/2020-12/schema' })
  $schema: string;

  @ApiProperty({ example: 'Prediction request for iris version 1' })
  title: string;

  @ApiProperty({ description: 'The body it describes and what the server checks beyond it' })
  description: string;

  @ApiProperty({ example: 'object' })
  type: string;

  @ApiProperty({ type: [String], example: ['model', 'inputs'] })
  required: string[];

  @ApiProperty({ example: false })
  additionalProperties: boolean;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Schemas of model, version, inputs (one per input of the signature) and outputs',
  })
  properties: Record<string, unknown>;
}

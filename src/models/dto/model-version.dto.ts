import { PageDtoOf } from '../../common/pagination';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { VERSION_STATUSES, VersionStatus } from '../entities/model-version.entity';
import { TENSOR_DTYPES, TensorDtype } from '../../inference/tensor-spec';

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

  @ApiProperty({ enum: VERSION_STATUSES, enumName: 'VersionStatus' })
  status: VersionStatus;

  @ApiProperty()
  description: string;

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

export class ModelVersionPageDto extends PageDtoOf(ModelVersionDto, 'ModelVersionPageDto') {}

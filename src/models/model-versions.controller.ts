import { Access } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiErrors } from '../common/api-errors.decorator';
import { PredictionRequestSchemaDto } from './dto/prediction-request-schema.dto';
import { JsonSchema, predictionRequestSchema } from './prediction-request-schema';
import { PageQueryDto } from '../common/pagination';
import { ModelVersionDto, ModelVersionPageDto, UpdateVersionDto } from './dto/model-version.dto';
import { ModelUploadService } from './model-upload.service';
import { ModelVersionsService } from './model-versions.service';
import { ModelNamePipe, VersionNumberPipe } from './pipes';
import { METADATA_RULE } from './version-metadata';

@ApiTags('versions')
@Controller('api/v1/models/:name/versions')
export class ModelVersionsController {
  constructor(
    private readonly versions: ModelVersionsService,
    private readonly uploads: ModelUploadService,
  ) {}

  @Post()
  @Access('maintainer')
  @ApiOperation({
    operationId: 'uploadModelVersion',
    summary: 'Upload an .onnx file as the next version',
    description:
      'The file is streamed to staging and hashed, decoded and checked (graph, IR version, opsets, no external ' +
      'data, supported operator domains), loaded by ONNX Runtime and run once with synthetic inputs. Only then ' +
      'are the version and its file stored. Identical bytes are stored once. A version whose signature cannot ' +
      'batch (a fixed or missing first dimension) is accepted on a model with batching on; its requests run one by one.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: {
        file: { type: 'string', format: 'binary', description: 'The .onnx model' },
        description: { type: 'string', maxLength: 2000 },
      },
    },
  })
  @ApiCreatedResponse({ type: ModelVersionDto })
  @ApiErrors(400, 404, 413, 415, 422, 429, 507)
  upload(
    @Param('name', ModelNamePipe) name: string,
    @Req() request: Request,
    @CurrentCaller() caller: Caller,
  ): Promise<ModelVersionDto> {
    return this.uploads.upload(name, request, caller);
  }

  @Get()
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({ operationId: 'listModelVersions', summary: 'List versions, newest first' })
  @ApiOkResponse({ type: ModelVersionPageDto })
  @ApiErrors(400, 404)
  list(
    @Param('name', ModelNamePipe) name: string,
    @Query() query: PageQueryDto,
    @CurrentCaller() caller: Caller,
  ): Promise<ModelVersionPageDto> {
    return this.versions.list(name, query, caller);
  }

  @Get(':version')
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({ operationId: 'getModelVersion', summary: 'Read a version with its signature and metadata' })
  @ApiOkResponse({ type: ModelVersionDto })
  @ApiErrors(400, 404)
  get(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionNumberPipe) version: number,
    @CurrentCaller() caller: Caller,
  ): Promise<ModelVersionDto> {
    return this.versions.get(name, version, caller);
  }

  @Patch(':version')
  @Access('maintainer')
  @ApiOperation({
    operationId: 'updateModelVersion',
    summary: 'Archive or restore a version, change its description or metadata',
    description:
      'Fields left out stay as they are; metadata replaces the whole object. An archived version is served only ' +
      'when pinned by number: the latest ready version skips it and an alias pointing at it answers 409. ' +
      `Bounds: ${METADATA_RULE}.`,
  })
  @ApiOkResponse({ type: ModelVersionDto })
  @ApiErrors(400, 404, 409, 413, 415)
  update(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionNumberPipe) version: number,
    @Body() dto: UpdateVersionDto,
    @CurrentCaller() caller: Caller,
  ): Promise<ModelVersionDto> {
    return this.versions.update(name, version, dto, caller);
  }

  @Get(':version/file')
  @Access('maintainer')
  @ApiOperation({ operationId: 'downloadModelVersionFile', summary: 'Download the ONNX bytes of a version' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' }, description: 'The .onnx file' })
  @ApiErrors(400, 404)
  async download(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionNumberPipe) version: number,
    @CurrentCaller() caller: Caller,
  ): Promise<StreamableFile> {
    const file = await this.versions.openFile(name, version, caller);
    return new StreamableFile(file.stream, {
      type: 'application/octet-stream',
      length: file.sizeBytes,
      disposition: `attachment; filename="${name}-v${version}.onnx"`,
    });
  }

  @Delete(':version')
  @Access('maintainer')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deleteModelVersion',
    summary: 'Delete a version (and its file unless shared)',
    description: 'Refused (409, naming them) while an alias points at the version.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404, 409)
  async delete(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionNumberPipe) version: number,
    @CurrentCaller() caller: Caller,
  ): Promise<void> {
    await this.versions.delete(name, version, caller);
  }

  @Get(':version/schema')
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({
    operationId: 'getPredictionSchema',
    summary: 'JSON Schema (2020-12) of a prediction request for the version',
    description:
      'Generated from the signature: `model`, `version`, `outputs` and each input in both forms the server ' +
      'reads (nested arrays, `{shape, data, dtype?}`), fixed dimensions exactly, dynamic ones as any size, values ' +
      "in the dtype's range. Its `description` names what the server checks beyond a JSON Schema (rectangular " +
      'nesting, element count against shape, shared symbolic dimensions, size limits).',
  })
  @ApiOkResponse({
    type: PredictionRequestSchemaDto,
    description: 'A JSON Schema (draft 2020-12) of a POST /api/v1/predictions body',
  })
  @ApiErrors(400, 404)
  async schema(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionNumberPipe) version: number,
    @CurrentCaller() caller: Caller,
  ): Promise<JsonSchema> {
    return predictionRequestSchema(await this.versions.get(name, version, caller));
  }
}

import { Access } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import { MODEL_SCOPE_RULE } from '../auth/model-scope';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { BATCHING_VERSION_RULE } from './batching-settings';
import { CreateModelDto, ListModelsQueryDto, ModelDto, ModelPageDto, UpdateModelDto } from './dto/model.dto';
import { ModelsService } from './models.service';
import { ModelNamePipe } from './pipes';

@ApiTags('models')
@Controller('api/v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Post()
  @Access('maintainer')
  @ApiOperation({
    operationId: 'createModel',
    summary: 'Register a model name',
    description: 'A key scoped to model-name patterns may only create models whose name matches them (403).',
  })
  @ApiCreatedResponse({ type: ModelDto })
  @ApiErrors(400, 409, 413, 415, 503)
  create(@Body() dto: CreateModelDto, @CurrentCaller() caller: Caller): Promise<ModelDto> {
    return this.models.create(dto, caller);
  }

  @Get()
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({
    operationId: 'listModels',
    summary: 'List models (search with q, filter by tag)',
    description: 'A key scoped to model-name patterns sees only those models (and their total).',
  })
  @ApiOkResponse({ type: ModelPageDto })
  @ApiErrors(400)
  list(@Query() query: ListModelsQueryDto, @CurrentCaller() caller: Caller): Promise<ModelPageDto> {
    return this.models.list(query, caller);
  }

  @Get(':name')
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({
    operationId: 'getModel',
    summary: 'Read a model with its latest version and aliases',
    description: MODEL_SCOPE_RULE,
  })
  @ApiOkResponse({ type: ModelDto })
  @ApiErrors(400, 404)
  get(@Param('name', ModelNamePipe) name: string, @CurrentCaller() caller: Caller): Promise<ModelDto> {
    return this.models.get(name, caller);
  }

  @Patch(':name')
  @Access('maintainer')
  @ApiOperation({
    operationId: 'updateModel',
    summary: 'Change description, tags or settings (cache, payload logging, batching)',
    description: `Fields left out stay as they are; tags replace the list. ${BATCHING_VERSION_RULE}`,
  })
  @ApiOkResponse({ type: ModelDto })
  @ApiErrors(400, 404, 413, 415, 503)
  update(
    @Param('name', ModelNamePipe) name: string,
    @Body() dto: UpdateModelDto,
    @CurrentCaller() caller: Caller,
  ): Promise<ModelDto> {
    return this.models.update(name, dto, caller);
  }

  @Delete(':name/cache')
  @Access('maintainer')
  @HttpCode(204)
  @ApiOperation({ operationId: 'flushModelCache', summary: "Empty the model's prediction cache" })
  @ApiNoContentResponse({ description: 'Flushed' })
  @ApiErrors(400, 404)
  async flushCache(@Param('name', ModelNamePipe) name: string, @CurrentCaller() caller: Caller): Promise<void> {
    await this.models.flushCache(name, caller);
  }

  @Delete(':name')
  @Access('maintainer')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteModel', summary: 'Delete a model, its versions and their files' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404)
  async delete(@Param('name', ModelNamePipe) name: string, @CurrentCaller() caller: Caller): Promise<void> {
    await this.models.delete(name, caller);
  }
}

import { Controller, Delete, Get, HttpCode, Param, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { PageQueryDto } from '../common/pagination';
import { ModelVersionDto, ModelVersionPageDto } from './dto/model-version.dto';
import { ModelVersionsService } from './model-versions.service';
import { ModelNamePipe, VersionNumberPipe } from './pipes';

@ApiTags('versions')
@Controller('api/v1/models/:name/versions')
export class ModelVersionsController {
  constructor(private readonly versions: ModelVersionsService) {}

  @Get()
  @ApiOperation({ operationId: 'listModelVersions', summary: 'List versions, newest first' })
  @ApiOkResponse({ type: ModelVersionPageDto })
  @ApiErrors(400, 404)
  list(@Param('name', ModelNamePipe) name: string, @Query() query: PageQueryDto): Promise<ModelVersionPageDto> {
    return this.versions.list(name, query);
  }

  @Get(':version')
  @ApiOperation({ operationId: 'getModelVersion', summary: 'Read a version with its signature and metadata' })
  @ApiOkResponse({ type: ModelVersionDto })
  @ApiErrors(400, 404)
  get(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionNumberPipe) version: number,
  ): Promise<ModelVersionDto> {
    return this.versions.get(name, version);
  }

  @Delete(':version')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteModelVersion', summary: 'Delete a version (and its file unless shared)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404)
  async delete(
    @Param('name', ModelNamePipe) name: string,
    @Param('version', VersionNumberPipe) version: number,
  ): Promise<void> {
    await this.versions.delete(name, version);
  }
}

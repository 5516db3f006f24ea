import { Body, Controller, Delete, HttpCode, Param, Put } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import { ApiErrors } from '../common/api-errors.decorator';
import { AliasesService } from './aliases.service';
import { SetAliasDto } from './dto/alias.dto';
import { ModelDto } from './dto/model.dto';
import { AliasNamePipe, ModelNamePipe } from './pipes';
import { ALIAS_RULE } from './version-ref';

@ApiTags('models')
@Controller('api/v1/models/:name/aliases')
export class AliasesController {
  constructor(private readonly aliases: AliasesService) {}

  @Put(':alias')
  @Access('maintainer')
  @ApiOperation({
    operationId: 'setModelAlias',
    summary: 'Point an alias at a version (create or move it)',
    description:
      `The alias ${ALIAS_RULE}. It may point at a ready or archived version (409 otherwise); requests ` +
      '(predictions, jobs, Open Inference Protocol paths) may name it wherever they name a version, and are ' +
      'answered by its target (409 while that is archived). The move takes effect on every replica before ' +
      'the response: no request sent after it is served by the old target, from the cache or otherwise.',
  })
  @ApiOkResponse({ type: ModelDto })
  @ApiErrors(400, 404, 409, 413, 415)
  set(
    @Param('name', ModelNamePipe) name: string,
    @Param('alias', AliasNamePipe) alias: string,
    @Body() dto: SetAliasDto,
    @CurrentCaller() caller: Caller,
  ): Promise<ModelDto> {
    return this.aliases.set(name, alias, dto.version, caller);
  }

  @Delete(':alias')
  @Access('maintainer')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteModelAlias', summary: 'Remove an alias (its version stays)' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors(400, 404)
  async remove(
    @Param('name', ModelNamePipe) name: string,
    @Param('alias', AliasNamePipe) alias: string,
    @CurrentCaller() caller: Caller,
  ): Promise<void> {
    await this.aliases.remove(name, alias, caller);
  }
}

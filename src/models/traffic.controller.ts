import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import { ApiErrors } from '../common/api-errors.decorator';
import { TrafficPolicyDto } from './dto/traffic.dto';
import { ModelNamePipe } from './pipes';
import { TrafficService } from './traffic.service';

@ApiTags('models')
@Controller('api/v1/models/:name/traffic')
export class TrafficController {
  constructor(private readonly traffic: TrafficService) {}

  @Get()
  @Access('maintainer', 'predictor', 'viewer')
  @ApiOperation({
    operationId: 'getModelTraffic',
    summary: "The model's traffic policy (404 when it has none)",
  })
  @ApiOkResponse({ type: TrafficPolicyDto })
  @ApiErrors(400, 404)
  get(@Param('name', ModelNamePipe) name: string, @CurrentCaller() caller: Caller): Promise<TrafficPolicyDto> {
    return this.traffic.get(name, caller);
  }

  @Put()
  @Access('maintainer')
  @ApiOperation({
    operationId: 'setModelTraffic',
    summary: 'Split requests that name no version between versions (canary, A/B)',
    description:
      'Requests that name no version (predictions and jobs without `version`, Open Inference Protocol paths ' +
      'without `/versions/{v}`, gRPC with an empty `model_version`) go to a member picked by weight; one naming a ' +
      'version, an alias or `latest` is not affected. With `sticky.header`, a request carrying that header lands on ' +
      "the member its value's stable hash falls into (cumulative weights in split order), so a value keeps its " +
      'version and a weight change moves only the values in the moved share. The response says which version ' +
      'served (`version`, `X-Model-Version`, `model_version`). 404 names an unknown member, 409 one that is not ' +
      'ready. The policy takes effect on every replica before the response; a version or alias it names cannot be ' +
      'deleted (409).',
  })
  @ApiBody({ type: TrafficPolicyDto })
  @ApiOkResponse({ type: TrafficPolicyDto })
  @ApiErrors(400, 404, 409, 413, 415)
  set(
    @Param('name', ModelNamePipe) name: string,
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
  ): Promise<TrafficPolicyDto> {
    return this.traffic.set(name, body, caller);
  }

  @Delete()
  @Access('maintainer')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deleteModelTraffic',
    summary: 'Remove the traffic policy: requests naming no version get the latest ready version again',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors(400, 404)
  async remove(@Param('name', ModelNamePipe) name: string, @CurrentCaller() caller: Caller): Promise<void> {
    await this.traffic.remove(name, caller);
  }
}

import { Access } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, UseInterceptors } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { InvalidInputError } from '../common/errors';
import { ListPredictionsQueryDto, PredictionLogDto, PredictionLogPageDto } from './dto/prediction-log.dto';
import { OutputTensorDto, PredictionResponseDto, PredictRequestDto, TensorInputDto } from './dto/prediction.dto';
import { PredictionCacheInterceptor } from './prediction-cache.interceptor';
import { PredictionOutcome, RequestWithPrediction } from './prediction-context';
import { PredictionLogService } from './prediction-log.service';
import { PredictionResponseInterceptor } from './prediction-response.interceptor';
import { PredictionsService } from './predictions.service';

@ApiTags('predictions')
@ApiExtraModels(TensorInputDto, OutputTensorDto)
@Controller('api/v1/predictions')
export class PredictionsController {
  constructor(
    private readonly predictions: PredictionsService,
    private readonly log: PredictionLogService,
  ) {}

  @Post()
  @Access('maintainer', 'predictor')
  @HttpCode(200)
  @UseInterceptors(PredictionResponseInterceptor, PredictionCacheInterceptor)
  @ApiOperation({
    operationId: 'predict',
    summary: 'Run a model version on the given inputs',
    description:
      'Send `Cache-Control: no-cache` to skip the cache lookup. Response headers: X-Model-Version (the version ' +
      'that ran), X-Cache (HIT, MISS or BYPASS), Server-Timing (receive, cache, parse, resolve, validate, queue, ' +
      'inference, encode in ms). A key scoped to model-name patterns gets 403 for any other model, whether or ' +
      'not it exists, before any lookup.',
  })
  @ApiBody({ type: PredictRequestDto })
  @ApiOkResponse({ type: PredictionResponseDto })
  @ApiErrors(400, 404, 409, 413, 415, 422, 429, 503, 504)
  predict(@Req() req: RequestWithPrediction, @CurrentCaller() caller: Caller): Promise<PredictionOutcome> {
    // The body arrives unparsed (express.raw on this path): an inference worker parses it.
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
      throw new InvalidInputError('The request body must be a JSON object with model and inputs');
    }
    return this.predictions.predict(req.body, req.prediction!, caller);
  }

  @Get()
  @Access('maintainer')
  @ApiOperation({
    operationId: 'listPredictions',
    summary: 'The prediction log, newest first',
    description: 'A key scoped to model-name patterns sees only the rows of those models.',
  })
  @ApiOkResponse({ type: PredictionLogPageDto })
  @ApiErrors(400)
  list(@Query() query: ListPredictionsQueryDto, @CurrentCaller() caller: Caller): Promise<PredictionLogPageDto> {
    return this.log.list(query, caller);
  }

  @Get(':id')
  @Access('maintainer')
  @ApiOperation({ operationId: 'getPrediction', summary: 'One logged prediction' })
  @ApiOkResponse({ type: PredictionLogDto })
  @ApiErrors(400, 404)
  get(
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @CurrentCaller() caller: Caller,
  ): Promise<PredictionLogDto> {
    return this.log.get(id, caller);
  }
}

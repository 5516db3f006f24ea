import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrors } from '../common/api-errors.decorator';
import { InvalidInputError } from '../common/errors';
import type { RequestWithId } from '../common/request-id';
import { OutputTensorDto, PredictionResponseDto, PredictRequestDto, TensorInputDto } from './dto/prediction.dto';
import { PredictionsService, serverTiming } from './predictions.service';

@ApiTags('predictions')
@ApiExtraModels(TensorInputDto, OutputTensorDto)
@Controller('api/v1/predictions')
export class PredictionsController {
  constructor(private readonly predictions: PredictionsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    operationId: 'predict',
    summary: 'Run a model version on the given inputs',
    description:
      'Response headers: X-Model-Version (the version that ran), X-Cache (HIT or MISS), Server-Timing ' +
      '(receive, parse, resolve, validate, queue, inference, encode in ms).',
  })
  @ApiBody({ type: PredictRequestDto })
  @ApiOkResponse({ type: PredictionResponseDto })
  @ApiErrors(400, 404, 409, 413, 415, 429, 503, 504)
  async predict(@Req() req: Request, @Res() res: Response): Promise<void> {
    // The body arrives unparsed (express.raw on this path): an inference worker parses it.
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
      throw new InvalidInputError('The request body must be a JSON object with model and inputs');
    }
    const outcome = await this.predictions.predict(req.body, (req as RequestWithId).startedAt);
    res.setHeader('X-Model-Version', String(outcome.version));
    res.setHeader('X-Cache', outcome.cached ? 'HIT' : 'MISS');
    res.setHeader('Server-Timing', serverTiming(outcome.stages));
    res.type('application/json').send(outcome.json);
  }
}

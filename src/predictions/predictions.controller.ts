import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrors } from '../common/api-errors.decorator';
import type { RequestWithId } from '../common/request-id';
import { OutputTensorDto, PredictionResponseDto, PredictRequestDto, TensorInputDto } from './dto/prediction.dto';
import { PredictionsService } from './predictions.service';

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
    description: 'Response headers: X-Model-Version (the version that ran), X-Cache (HIT or MISS).',
  })
  @ApiOkResponse({ type: PredictionResponseDto })
  @ApiErrors(400, 404, 409, 413, 415, 429, 503, 504)
  async predict(
    @Body() body: PredictRequestDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PredictionResponseDto> {
    const result = await this.predictions.predict(body, (req as RequestWithId).startedAt);
    res.setHeader('X-Model-Version', String(result.version));
    res.setHeader('X-Cache', result.cached ? 'HIT' : 'MISS');
    return result;
  }
}

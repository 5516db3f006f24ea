import { Injectable } from '@nestjs/common';
import { InvalidInputError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { InferenceService } from '../inference/inference.service';
import { decodeInputs, encodeTensor } from '../inference/tensor-codec';
import { ModelVersionsService } from '../models/model-versions.service';
import { PredictionResponseDto, PredictRequestDto } from './dto/prediction.dto';

@Injectable()
export class PredictionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly versions: ModelVersionsService,
    private readonly inference: InferenceService,
  ) {}

  /** Resolves the version, checks inputs against its signature, runs it in a worker. */
  async predict(request: PredictRequestDto, startedAt: bigint): Promise<PredictionResponseDto> {
    const { model, entity } = await this.versions.resolveServable(request.model, request.version);
    if (request.outputs) {
      const known = new Set(entity.outputs.map((o) => o.name));
      const unknown = request.outputs.filter((o) => !known.has(o));
      if (unknown.length > 0) {
        throw new InvalidInputError(
          `outputs ${unknown.join(', ')} are not outputs of this model; its outputs are ${[...known].join(', ')}`,
          unknown.map((o) => ({ field: `outputs.${o}`, problem: 'is not an output of this model' })),
        );
      }
    }
    const feeds = decodeInputs(entity.inputs, request.inputs, this.config.maxTensorElements);
    const result = await this.inference.run(entity, feeds, request.outputs);
    const outputs: PredictionResponseDto['outputs'] = {};
    for (const [name, tensor] of Object.entries(result.outputs)) outputs[name] = encodeTensor(tensor);
    return {
      model: model.name,
      version: entity.version,
      outputs,
      cached: false,
      timing: {
        totalMs: round(Number(process.hrtime.bigint() - startedAt) / 1e6),
        inferenceMs: round(result.inferenceMs),
      },
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

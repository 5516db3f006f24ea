import { DynamicModule, Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module';
import { AppConfig } from '../config/app-config';
import { HealthModule } from '../health/health.module';
import { InferenceModule } from '../inference/inference.module';
import { ModelsModule } from '../models/models.module';
import { PredictionsModule } from '../predictions/predictions.module';
import { OipController } from './oip.controller';
import { OipService } from './oip.service';

/** The Open Inference Protocol (KServe v2) beside /api/v1: an HTTP API feature, absent from a worker. */
@Module({})
export class OipModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: OipModule,
      imports: [ModelsModule, InferenceModule, CacheModule, PredictionsModule, HealthModule.forRoot(config)],
      controllers: [OipController],
      providers: [OipService],
      exports: [OipService],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { AuthApiModule } from './auth/auth-api.module';
import { AppConfig } from './config/app-config';
import { JobsApiModule } from './jobs/jobs-api.module';
import { ModelsApiModule } from './models/models-api.module';
import { OipModule } from './oip/oip.module';
import { PredictionsModule } from './predictions/predictions.module';

/**
 * APP_ROLE=api (and all): the HTTP API under /api/v1 (registry, predictions, jobs, keys, users and
 * sessions, audit), the Open Inference Protocol under /v2, and its OpenAPI document (app.factory.ts serves it at /docs).
 */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        AuthApiModule,
        ModelsApiModule,
        PredictionsModule,
        OipModule.forRoot(config),
        JobsApiModule.forRoot(config),
      ],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { CacheModule } from '../cache/cache.module';
import { BodyBudgetModule } from '../common/body-budget.module';
import { AppConfig } from '../config/app-config';
import { HealthModule } from '../health/health.module';
import { InferenceModule } from '../inference/inference.module';
import { ModelsModule } from '../models/models.module';
import { PredictionsModule } from '../predictions/predictions.module';
import { GrpcAccess } from './grpc/grpc-access';
import { OipGrpcServer } from './grpc/oip-grpc.server';
import { OipGrpcServicer } from './grpc/oip-grpc.servicer';
import { OipController } from './oip.controller';
import { OipService } from './oip.service';

/**
 * The Open Inference Protocol (KServe v2) beside /api/v1, and over gRPC on GRPC_PORT: both
 * transports on one OipService. An API feature, absent from a worker.
 */
@Module({})
export class OipModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: OipModule,
      imports: [
        AuthModule,
        BodyBudgetModule,
        ModelsModule,
        InferenceModule,
        CacheModule,
        PredictionsModule,
        HealthModule.forRoot(config),
      ],
      controllers: [OipController],
      providers: [OipService, GrpcAccess, OipGrpcServicer, OipGrpcServer],
      exports: [OipService],
    };
  }
}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CacheModule } from '../cache/cache.module';
import { InferenceModule } from '../inference/inference.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { CacheStatsController } from './cache-stats.controller';
import { PredictionEntity } from './entities/prediction.entity';
import { TrafficRollupEntity } from './entities/traffic-rollup.entity';
import { PredictionCacheInterceptor } from './prediction-cache.interceptor';
import { PredictionLogService } from './prediction-log.service';
import { PredictionMetrics } from './prediction-metrics';
import { PredictionResponseInterceptor } from './prediction-response.interceptor';
import { PredictionsController } from './predictions.controller';
import { PredictionsService } from './predictions.service';
import { ShadowService } from './shadow.service';
import { TrafficRollupService } from './traffic-rollup.service';
import { TrafficSeriesController } from './traffic-series.controller';
import { TrafficStatsController } from './traffic-stats.controller';
import { TrafficStatsService } from './traffic-stats.service';

/** POST /api/v1/predictions and the prediction log: an HTTP API feature, absent from a worker. */
@Module({
  imports: [
    ModelsModule,
    InferenceModule,
    CacheModule,
    MetricsModule,
    TypeOrmModule.forFeature([PredictionEntity, TrafficRollupEntity]),
  ],
  controllers: [PredictionsController, CacheStatsController, TrafficStatsController, TrafficSeriesController],
  providers: [
    PredictionsService,
    PredictionLogService,
    PredictionMetrics,
    PredictionCacheInterceptor,
    PredictionResponseInterceptor,
    ShadowService,
    TrafficRollupService,
    TrafficStatsService,
  ],
  // The Open Inference Protocol (src/oip) logs and counts its infers in the same log and metrics.
  exports: [PredictionLogService, PredictionMetrics, ShadowService],
})
export class PredictionsModule {}

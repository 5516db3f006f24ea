import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ModelsModule } from '../models/models.module';
import { CacheStatsController } from './cache-stats.controller';
import { PredictionEntity } from './entities/prediction.entity';
import { PredictionCacheInterceptor } from './prediction-cache.interceptor';
import { PredictionLogService } from './prediction-log.service';
import { PredictionMetrics } from './prediction-metrics';
import { PredictionResponseInterceptor } from './prediction-response.interceptor';
import { PredictionsController } from './predictions.controller';
import { PredictionsService } from './predictions.service';

@Module({
  imports: [ModelsModule, TypeOrmModule.forFeature([PredictionEntity])],
  controllers: [PredictionsController, CacheStatsController],
  providers: [
    PredictionsService,
    PredictionLogService,
    PredictionMetrics,
    PredictionCacheInterceptor,
    PredictionResponseInterceptor,
  ],
  exports: [PredictionLogService],
})
export class PredictionsModule {}

import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { EngineMetrics } from './engine-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** /metrics, in every process role, and the registry features declare their metrics on. */
@Module({
  imports: [InferenceModule],
  controllers: [MetricsController],
  providers: [MetricsService, EngineMetrics],
  exports: [MetricsService],
})
export class MetricsModule {}

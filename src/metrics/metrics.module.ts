import { Global, Module } from '@nestjs/common';
import { EngineMetrics } from './engine-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, EngineMetrics],
  exports: [MetricsService],
})
export class MetricsModule {}

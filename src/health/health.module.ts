import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule } from '../cache/cache.module';
import { AppConfig } from '../config/app-config';
import { InferenceModule } from '../inference/inference.module';
import { JobsModule } from '../jobs/jobs.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { ShutdownState } from './shutdown-state';

/** /health/live and /health/ready in every process role: database, engine, job queue and cache. */
@Module({})
export class HealthModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), InferenceModule, CacheModule, JobsModule.forRoot(config)],
      controllers: [HealthController],
      providers: [HealthService, ShutdownState],
      exports: [ShutdownState, HealthService],
    };
  }
}

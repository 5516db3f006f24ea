import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { JobsModule } from './jobs.module';
import { InferenceProcessor } from './queue/inference.processor';

/**
 * What consumes jobs: with REDIS_URL the Bull processor (JOBS_CONCURRENCY jobs at once, handed to
 * JobRunnerService). Without Redis, JobsModule's in-process queue runs them in this process.
 */
@Module({})
export class JobsWorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: JobsWorkerModule,
      imports: [JobsModule.forRoot(config)],
      providers: config.redis.url ? [InferenceProcessor] : [],
    };
  }
}

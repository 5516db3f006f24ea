import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { JobsWorkerModule } from './jobs/jobs-worker.module';

/** APP_ROLE=worker (and all): consumes queued jobs. It adds no route. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: WorkerModule, imports: [JobsWorkerModule.forRoot(config)] };
  }
}

import { DynamicModule, Module, Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InferenceModule } from '../inference/inference.module';
import { ModelsModule } from '../models/models.module';
import { JobSubmissionService } from './job-submission.service';
import { JobsController } from './jobs.controller';
import { JobsModule } from './jobs.module';
import { JobsService } from './jobs.service';
import { QueueDashboard } from './queue/queue-dashboard';

/** The jobs endpoints (submit, list, read, cancel, delete): they store jobs and produce queue work. */
@Module({})
export class JobsApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    const providers: Provider[] = [JobsService, JobSubmissionService];
    // bull-board at /admin/queues, read-only, when enabled (it needs the Bull queue).
    if (config.redis.url && config.jobs.dashboardEnabled) providers.push(QueueDashboard);
    return {
      module: JobsApiModule,
      imports: [JobsModule.forRoot(config), ModelsModule, InferenceModule],
      controllers: [JobsController],
      providers,
    };
  }
}

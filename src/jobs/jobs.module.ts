import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { loadEnvironment } from '../config/environment';
import { ModelsModule } from '../models/models.module';
import { ChunkExecutor } from './chunk-executor';
import { JobResultEntity } from './entities/job-result.entity';
import { JobEntity } from './entities/job.entity';
import { JobHooks } from './job-hooks';
import { JobMetrics } from './job-metrics';
import { QueueGauges } from './queue/queue-gauges';
import { JobRunnerService } from './job-runner.service';
import { JobStore } from './job-store';
import { JobSubmissionService } from './job-submission.service';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { BullJobQueue } from './queue/bull-job-queue';
import { bullSettings, INFERENCE_QUEUE } from './queue/bull-settings';
import { InProcessJobQueue } from './queue/in-process-job-queue';
import { InferenceProcessor } from './queue/inference.processor';
import { JobQueue } from './queue/job-queue';
import { QueueDashboard } from './queue/queue-dashboard';

export class JobsConfigurationError extends Error {}

/**
 * Queued batch inference. With REDIS_URL the queue is Bull (`inference`); without it, an
 * in-process runner with the same semantics. APP_ROLE picks the parts: `api` serves the endpoints
 * and only produces, `worker` only consumes (no controller), `all` does both. The module is global
 * so readiness can report the queue.
 */
@Module({})
export class JobsModule {
  /** `config` as given to AppModule.forRoot; unset, the environment is read (as ConfigModule does). */
  static forRoot(given?: AppConfig): DynamicModule {
    const config = given ?? new AppConfig(loadEnvironment());
    const redisUrl = config.redisUrl;
    if (!redisUrl && config.appRole !== 'all') {
      throw new JobsConfigurationError(
        `APP_ROLE=${config.appRole} needs REDIS_URL: without Redis, jobs run in the process that accepts them (APP_ROLE=all)`,
      );
    }
    const providers: Provider[] = [
      JobStore,
      JobMetrics,
      QueueGauges,
      ChunkExecutor,
      JobHooks,
      JobRunnerService,
      JobsService,
      JobSubmissionService,
    ];
    if (redisUrl) {
      providers.push({ provide: JobQueue, useClass: BullJobQueue });
      if (config.runsJobs) providers.push(InferenceProcessor);
      if (config.queueDashboardEnabled && config.servesApi) providers.push(QueueDashboard);
    } else {
      providers.push({ provide: JobQueue, useClass: InProcessJobQueue });
    }
    return {
      module: JobsModule,
      global: true,
      imports: [
        TypeOrmModule.forFeature([JobEntity, JobResultEntity]),
        ModelsModule,
        ...(redisUrl
          ? [
              BullModule.forRoot({ url: redisUrl, prefix: config.jobsQueuePrefix, settings: bullSettings(config) }),
              BullModule.registerQueue({ name: INFERENCE_QUEUE }),
            ]
          : []),
      ],
      controllers: config.servesApi ? [JobsController] : [],
      providers,
      exports: [JobQueue],
    };
  }
}

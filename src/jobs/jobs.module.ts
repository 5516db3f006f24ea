import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { InferenceModule } from '../inference/inference.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { ChunkExecutor } from './chunk-executor';
import { JobResultEntity } from './entities/job-result.entity';
import { JobEntity } from './entities/job.entity';
import { JobHooks } from './job-hooks';
import { JobMetrics } from './job-metrics';
import { QueueGauges } from './queue/queue-gauges';
import { JobRunnerService } from './job-runner.service';
import { JobStore } from './job-store';
import { BullJobQueue } from './queue/bull-job-queue';
import { bullSettings, INFERENCE_QUEUE } from './queue/bull-settings';
import { InProcessJobQueue } from './queue/in-process-job-queue';
import { JobQueue } from './queue/job-queue';

export class JobsConfigurationError extends Error {}

/** Nest tells dynamic modules apart by reference: one per configuration, whoever imports it. */
const built = new WeakMap<AppConfig, DynamicModule>();

/**
 * Queued batch inference, the part every process role shares: the job store, the runner and the
 * queue. With REDIS_URL the queue is Bull (`inference`); without it, an in-process runner with the
 * same semantics, which also runs the jobs (APP_ROLE=all only). The endpoints are JobsApiModule's,
 * the Bull consumer JobsWorkerModule's.
 */
@Module({})
export class JobsModule {
  static forRoot(config: AppConfig): DynamicModule {
    let module = built.get(config);
    if (!module) {
      module = JobsModule.build(config);
      built.set(config, module);
    }
    return module;
  }

  private static build(config: AppConfig): DynamicModule {
    const redisUrl = config.redis.url;
    if (!redisUrl && config.app.role !== 'all') {
      throw new JobsConfigurationError(
        `APP_ROLE=${config.app.role} needs REDIS_URL: without Redis, jobs run in the process that accepts them (APP_ROLE=all)`,
      );
    }
    const providers: Provider[] = [JobStore, JobMetrics, QueueGauges, ChunkExecutor, JobHooks, JobRunnerService];
    const queue = redisUrl ? BullModule.registerQueue({ name: INFERENCE_QUEUE }) : undefined;
    providers.push({ provide: JobQueue, useClass: queue ? BullJobQueue : InProcessJobQueue });
    return {
      module: JobsModule,
      imports: [
        TypeOrmModule.forFeature([JobEntity, JobResultEntity]),
        ModelsModule,
        InferenceModule,
        MetricsModule,
        ...(redisUrl && queue
          ? [
              BullModule.forRoot({ url: redisUrl, prefix: config.redis.keyPrefix, settings: bullSettings(config) }),
              queue,
            ]
          : []),
      ],
      providers,
      exports: [JobQueue, JobStore, JobMetrics, JobRunnerService, ...(queue ? [queue] : [])],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheModule } from '../cache/cache.module';
import { AppConfig } from '../config/app-config';
import { InferenceModule } from '../inference/inference.module';
import { JobsModule } from '../jobs/jobs.module';
import { ModelsModule } from '../models/models.module';
import { StorageModule } from '../storage/storage.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { ShutdownState } from './shutdown-state';

/**
 * Nest tells dynamic modules apart by reference: one per configuration, whoever imports it (the
 * root, and the Open Inference Protocol for its readiness), so there is one ShutdownState.
 */
const built = new WeakMap<AppConfig, DynamicModule>();

/** /health/live and /health/ready in every process role: database, engine, job queue, cache, registry and artifact store. */
@Module({})
export class HealthModule {
  static forRoot(config: AppConfig): DynamicModule {
    let module = built.get(config);
    if (!module) {
      module = {
        module: HealthModule,
        imports: [
          TerminusModule.forRoot({ logger: false }),
          InferenceModule,
          CacheModule,
          ModelsModule,
          JobsModule.forRoot(config),
          StorageModule,
        ],
        controllers: [HealthController],
        providers: [HealthService, ShutdownState],
        exports: [ShutdownState, HealthService],
      };
      built.set(config, module);
    }
    return module;
  }
}

import { Module } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { AuthModule } from '../auth/auth.module';
import { AppConfig } from '../config/app-config';
import { InferenceModule } from '../inference/inference.module';
import { StorageModule } from '../storage/storage.module';
import { Clock, SystemClock } from '../common/clock';
import { StagingSweeper } from '../storage/staging-sweep';
import { AliasesService } from './aliases.service';
import { LocalModelEvents, ModelEvents, RedisModelEvents } from './model-events';
import { ModelPreloader } from './model-preloader';
import { ModelUploadService } from './model-upload.service';
import { ModelVersionRepository } from './model-version.repository';
import { ModelVersionsService } from './model-versions.service';
import { ModelRepository } from './model.repository';
import { ModelsService } from './models.service';
import { ServableVersionCache } from './servable-version-cache';
import { ServableVersionsService } from './servable-versions.service';
import { TrafficService } from './traffic.service';
import { VersionCleanupService } from './version-cleanup.service';

/**
 * The registry's services (its routes are ModelsApiModule's), the only code that touches its tables:
 * models and versions, uploads, version resolution, and the preloading of ready versions at start.
 * Other features get ServableVersionsService (the read model ServableVersion) and react to
 * `model.changed`, which the registry publishes after each write through the event emitter it
 * brings (its listeners anywhere in the application are found by discovery), and with REDIS_URL
 * to every other replica too. AuthModule gives it
 * the audit trail (AuthModule imports nothing of the registry).
 */
@Module({
  imports: [AuthModule, StorageModule, InferenceModule, EventEmitterModule.forRoot({ global: false })],
  providers: [
    ModelRepository,
    ModelVersionRepository,
    {
      provide: ModelEvents,
      inject: [EventEmitter2, AppConfig],
      useFactory: (emitter: EventEmitter2, config: AppConfig): ModelEvents =>
        config.redis.url
          ? new RedisModelEvents(emitter, config.redis.url, `${config.redis.keyPrefix}:model-events`)
          : new LocalModelEvents(emitter),
    },
    ModelsService,
    ModelVersionsService,
    AliasesService,
    TrafficService,
    ModelUploadService,
    ServableVersionsService,
    VersionCleanupService,
    ModelPreloader,
    ServableVersionCache,
    { provide: Clock, useClass: SystemClock },
    StagingSweeper,
  ],
  exports: [
    ModelsService,
    ModelVersionsService,
    AliasesService,
    TrafficService,
    ModelUploadService,
    ServableVersionsService,
    ModelPreloader,
  ],
})
export class ModelsModule {}

import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AuthModule } from '../auth/auth.module';
import { Clock, SystemClock } from '../common/clock';
import { StagingSweeper } from '../storage/staging-sweep';
import { ModelEvents } from './model-events';
import { ModelPreloader } from './model-preloader';
import { ModelUploadService } from './model-upload.service';
import { ModelVersionRepository } from './model-version.repository';
import { ModelVersionsController } from './model-versions.controller';
import { ModelVersionsService } from './model-versions.service';
import { ModelRepository } from './model.repository';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';
import { ServableVersionCache } from './servable-version-cache';
import { ServableVersionsService } from './servable-versions.service';
import { VersionCleanupService } from './version-cleanup.service';

/**
 * The registry, the only code that touches its tables. Other features get ServableVersionsService
 * (the read model ServableVersion) and react to `model.changed`, which the registry publishes
 * after each write through the event emitter it brings (its listeners anywhere in the
 * application are found by discovery). AuthModule gives it the audit trail (AuthModule imports
 * nothing of the registry).
 */
@Module({
  imports: [AuthModule, EventEmitterModule.forRoot({ global: false })],
  controllers: [ModelsController, ModelVersionsController],
  providers: [
    ModelRepository,
    ModelVersionRepository,
    ModelEvents,
    ModelsService,
    ModelVersionsService,
    ModelUploadService,
    ServableVersionsService,
    VersionCleanupService,
    ModelPreloader,
    ServableVersionCache,
    { provide: Clock, useClass: SystemClock },
    StagingSweeper,
  ],
  exports: [ServableVersionsService],
})
export class ModelsModule {}

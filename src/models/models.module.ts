import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { CacheModule } from '../cache/cache.module';
import { InferenceModule } from '../inference/inference.module';
import { StorageModule } from '../storage/storage.module';
import { StagingSweeper } from '../storage/staging-sweep';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { ModelPreloader } from './model-preloader';
import { ModelUploadService } from './model-upload.service';
import { ModelVersionsService } from './model-versions.service';
import { ModelsService } from './models.service';
import { ServableVersionCache } from './servable-version-cache';
import { VersionCleanupService } from './version-cleanup.service';

/**
 * The registry's services (its routes are ModelsApiModule's): models and versions, uploads, version
 * resolution, and the preloading of ready versions at start. AuthModule gives it the audit trail
 * (AuthModule imports nothing of the registry).
 */
@Module({
  imports: [
    AuthModule,
    StorageModule,
    InferenceModule,
    CacheModule,
    TypeOrmModule.forFeature([ModelEntity, ModelVersionEntity]),
  ],
  providers: [
    ModelsService,
    ModelVersionsService,
    ModelUploadService,
    VersionCleanupService,
    ModelPreloader,
    ServableVersionCache,
    StagingSweeper,
  ],
  exports: [ModelsService, ModelVersionsService, ModelUploadService],
})
export class ModelsModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { StagingSweeper } from '../storage/staging-sweep';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';
import { ModelPreloader } from './model-preloader';
import { ModelUploadService } from './model-upload.service';
import { ModelVersionsController } from './model-versions.controller';
import { ModelVersionsService } from './model-versions.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';
import { ServableVersionCache } from './servable-version-cache';
import { VersionCleanupService } from './version-cleanup.service';

/** The registry. AuthModule gives it the audit trail (AuthModule imports nothing of the registry). */
@Module({
  imports: [AuthModule, TypeOrmModule.forFeature([ModelEntity, ModelVersionEntity])],
  controllers: [ModelsController, ModelVersionsController],
  providers: [
    ModelsService,
    ModelVersionsService,
    ModelUploadService,
    VersionCleanupService,
    ModelPreloader,
    ServableVersionCache,
    StagingSweeper,
  ],
  exports: [ModelsService, ModelVersionsService],
})
export class ModelsModule {}

import { Module } from '@nestjs/common';
import { ModelVersionsController } from './model-versions.controller';
import { ModelsController } from './models.controller';
import { ModelsModule } from './models.module';

/** The registry's HTTP API: /api/v1/models and their versions. */
@Module({
  imports: [ModelsModule],
  controllers: [ModelsController, ModelVersionsController],
})
export class ModelsApiModule {}

import { Module } from '@nestjs/common';
import { AliasesController } from './aliases.controller';
import { ModelVersionsController } from './model-versions.controller';
import { ModelsController } from './models.controller';
import { ModelsModule } from './models.module';

/** The registry's HTTP API: /api/v1/models, their versions and aliases. */
@Module({
  imports: [ModelsModule],
  controllers: [ModelsController, ModelVersionsController, AliasesController],
})
export class ModelsApiModule {}

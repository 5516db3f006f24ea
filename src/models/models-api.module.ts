import { Module } from '@nestjs/common';
import { AliasesController } from './aliases.controller';
import { ModelVersionsController } from './model-versions.controller';
import { ModelsController } from './models.controller';
import { ModelsModule } from './models.module';
import { TrafficController } from './traffic.controller';

/** The registry's HTTP API: /api/v1/models, their versions, aliases and traffic policy. */
@Module({
  imports: [ModelsModule],
  controllers: [ModelsController, ModelVersionsController, AliasesController, TrafficController],
})
export class ModelsApiModule {}

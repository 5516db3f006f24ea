import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { AppConfig } from '../config/app-config';
import type { ModelDto } from './dto/model.dto';
import type { ModelEntity } from './entities/model.entity';
import { ModelEvents } from './model-events';
import { ModelRepository } from './model.repository';
import { toModelDto } from './model.mapper';
import { modelTarget, REGISTRY_ACTIONS as ACTIONS } from './registry-audit';

/**
 * Moving and removing a model's aliases. The write and its audit event commit together under the
 * model's lock; `model.changed` (serving changed) then makes the resolution cache forget the alias
 * and starts a new prediction cache generation, shared by every replica through the cache store,
 * before the response goes out: no request sent after it is answered by the old target.
 */
@Injectable()
export class AliasesService {
  constructor(
    private readonly models: ModelRepository,
    private readonly events: ModelEvents,
    private readonly config: AppConfig,
  ) {}

  async set(name: string, alias: string, version: number, caller: Caller): Promise<ModelDto> {
    assertModelInScope(caller, name);
    const { model } = await this.models.setAlias(name, alias, version, (previous) => ({
      caller,
      entry: { action: ACTIONS.aliasSet, target: modelTarget(name), details: { alias, version, previous } },
    }));
    return this.changed(model);
  }

  async remove(name: string, alias: string, caller: Caller): Promise<void> {
    assertModelInScope(caller, name);
    const { model } = await this.models.removeAlias(name, alias, (previous) => ({
      caller,
      entry: { action: ACTIONS.aliasDelete, target: modelTarget(name), details: { alias, previous } },
    }));
    await this.changed(model);
  }

  private async changed(model: ModelEntity): Promise<ModelDto> {
    await this.events.changed({ model: model.name, kind: 'alias-changed', servingChanged: true, released: [] });
    return toModelDto(model, this.config.cache.defaults);
  }
}

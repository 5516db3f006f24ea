import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { assertModelInScope } from '../auth/model-scope';
import { NotFoundError } from '../common/errors';
import { ModelEvents } from './model-events';
import { ModelRepository } from './model.repository';
import { modelTarget, REGISTRY_ACTIONS as ACTIONS } from './registry-audit';
import { readTrafficPolicy, shadowOf, TrafficPolicy } from './traffic-policy';

/**
 * A model's traffic policy: how requests that name no version are split. Writes commit with their
 * audit event under the model's lock, then `model.changed` (serving changed) makes every replica
 * resolve afresh and start a new prediction cache generation before the response, as alias moves do.
 */
@Injectable()
export class TrafficService {
  constructor(
    private readonly models: ModelRepository,
    private readonly events: ModelEvents,
  ) {}

  async get(name: string, caller: Caller): Promise<TrafficPolicy> {
    assertModelInScope(caller, name);
    const model = await this.models.getByName(name);
    if (!model.traffic)
      throw new NotFoundError(
        `Model '${name}' has no traffic policy; requests naming no version get its latest ready version`,
      );
    // Policies stored before shadows existed have no `shadow`: answered as null, like a new one without.
    return { ...model.traffic, shadow: shadowOf(model.traffic) };
  }

  async set(name: string, body: unknown, caller: Caller): Promise<TrafficPolicy> {
    assertModelInScope(caller, name);
    const policy = readTrafficPolicy(body);
    await this.models.setTraffic(name, policy, (previous) => ({
      caller,
      entry: { action: ACTIONS.trafficSet, target: modelTarget(name), details: { ...policy, previous } },
    }));
    await this.changed(name);
    return policy;
  }

  async remove(name: string, caller: Caller): Promise<void> {
    assertModelInScope(caller, name);
    await this.models.clearTraffic(name, (previous) => ({
      caller,
      entry: { action: ACTIONS.trafficDelete, target: modelTarget(name), details: { previous } },
    }));
    await this.changed(name);
  }

  private changed(name: string): Promise<void> {
    return this.events.changed({ model: name, kind: 'traffic-changed', servingChanged: true, released: [] });
  }
}

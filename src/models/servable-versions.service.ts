import { Injectable } from '@nestjs/common';
import { ConflictError, NoReadyVersionError, VersionNotFoundError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ModelVersionRepository } from './model-version.repository';
import { aliasTarget } from './model-lock';
import { ModelRepository } from './model.repository';
import { toServableVersion } from './model.mapper';
import { ServableVersionCache } from './servable-version-cache';
import type { ServableVersion } from './servable-version';
import { pickMember, TrafficPick } from './traffic-policy';
import { LATEST, VersionRef } from './version-ref';

/**
 * What the registry offers other features: the version a prediction or job runs on, as the
 * plain read model ServableVersion. Callers check the model scope before (predictions and jobs
 * learn the model name from the body).
 */
@Injectable()
export class ServableVersionsService {
  constructor(
    private readonly models: ModelRepository,
    private readonly versions: ModelVersionRepository,
    private readonly cache: ServableVersionCache,
    private readonly config: AppConfig,
  ) {}

  /**
   * The given version number, the version an alias points at, or the newest ready version for
   * `latest`. A request naming no version follows the model's traffic policy: a member picked by
   * weight (the request's `traffic` point, or its sticky header's value, see pickMember), resolved like a
   * named one; without a policy, the newest ready version. 404 when there is none (or no such
   * alias), 409 when it is not ready: an archived version is served only when pinned by number.
   *
   * `epoch` is the model's prediction cache generation: a write on any replica starts a new one,
   * so what was resolved under it is remembered (ServableVersionCache) and never used after a
   * write. Without one (the cache store is down), the database is asked every time.
   */
  async resolve(name: string, version?: VersionRef, epoch?: string, traffic?: TrafficPick): Promise<ServableVersion> {
    if (version !== undefined) return this.resolveNamed(name, version === LATEST ? undefined : version, epoch);
    const latest = await this.resolveNamed(name, undefined, epoch);
    if (!latest.traffic) return latest;
    const member = pickMember(latest.traffic.split, latest.traffic.sticky, traffic);
    return this.resolveNamed(name, member.version, epoch);
  }

  /** A named version (undefined: the latest), remembered under `epoch`. */
  private async resolveNamed(name: string, version: VersionRef | undefined, epoch: string | undefined) {
    if (epoch === undefined) return this.resolveFromDatabase(name, version);
    const cached = this.cache.get(name, version, epoch);
    if (cached) return cached;
    const resolved = await this.resolveFromDatabase(name, version);
    this.cache.set(name, version, epoch, resolved);
    return resolved;
  }

  /** The model's ready version numbers, oldest first; 404 for an unknown model. */
  async readyVersions(name: string): Promise<number[]> {
    const model = await this.models.getByName(name);
    const versions = await this.versions.forModel(model.id);
    return versions
      .filter((v) => v.status === 'ready')
      .map((v) => v.version)
      .sort((a, b) => a - b);
  }

  /** A version by its id (as a job recorded it), ready or not; null once it was deleted. */
  async byId(versionId: string): Promise<ServableVersion | null> {
    const found = await this.versions.findWithModel(versionId);
    return found && toServableVersion(found.model, found.version, this.config.cache.defaults);
  }

  private async resolveFromDatabase(name: string, version?: VersionRef): Promise<ServableVersion> {
    const model = await this.models.getByName(name);
    const number = typeof version === 'string' ? aliasTarget(model, version) : (version ?? model.latestVersion);
    if (number === null) throw new NoReadyVersionError(name);
    const entity = await this.versions.find(model.id, number);
    if (!entity) throw new VersionNotFoundError(name, number);
    const pinned = typeof version === 'number';
    if (entity.status !== 'ready' && !(pinned && entity.status === 'archived')) {
      const named =
        typeof version === 'string'
          ? `Alias '${version}' of '${name}' points at version ${number}, which`
          : `Version ${number} of '${name}'`;
      const hint = entity.status === 'archived' ? ' (an archived version is served only when pinned by number)' : '';
      throw new ConflictError(`${named} is ${entity.status}, not ready${hint}`);
    }
    return toServableVersion(model, entity, this.config.cache.defaults);
  }
}

import { Injectable } from '@nestjs/common';
import { ConflictError, NoReadyVersionError, VersionNotFoundError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { ModelVersionRepository } from './model-version.repository';
import { ModelRepository } from './model.repository';
import { toServableVersion } from './model.mapper';
import { ServableVersionCache } from './servable-version-cache';
import type { ServableVersion } from './servable-version';

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
   * The given version number, or the newest ready version. 404 when there is none, 409 when it
   * exists but is not ready.
   *
   * `epoch` is the model's prediction cache generation: a write on any replica starts a new one,
   * so what was resolved under it is remembered (ServableVersionCache) and never used after a
   * write. Without one (the cache store is down), the database is asked every time.
   */
  async resolve(name: string, version?: number, epoch?: string): Promise<ServableVersion> {
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

  private async resolveFromDatabase(name: string, version?: number): Promise<ServableVersion> {
    const model = await this.models.getByName(name);
    const number = version ?? model.latestVersion;
    if (number === null) throw new NoReadyVersionError(name);
    const entity = await this.versions.find(model.id, number);
    if (!entity) throw new VersionNotFoundError(name, number);
    if (entity.status !== 'ready') {
      throw new ConflictError(`Version ${number} of '${name}' is ${entity.status}, not ready`);
    }
    return toServableVersion(model, entity, this.config.cache.defaults);
  }
}

import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { PredictionCacheService } from '../cache/prediction-cache.service';
import { InferenceService } from '../inference/inference.service';
import { JobQueue } from '../jobs/queue/job-queue';
import { queueHealth } from '../jobs/queue/queue-health';
import { ModelPreloader } from '../models/model-preloader';
import { ArtifactStore } from '../storage/artifact-store';
import type { HealthResultDto } from './health.dto';
import { ShutdownState } from './shutdown-state';

@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly shutdown: ShutdownState,
    private readonly indicators: HealthIndicatorService,
    private readonly inference: InferenceService,
    private readonly jobs: JobQueue,
    private readonly cache: PredictionCacheService,
    private readonly preloader: ModelPreloader,
    private readonly store: ArtifactStore,
  ) {}

  /**
   * Down while the artifact store cannot be used (an unreachable bucket): nothing new could load,
   * and uploads would fail. Names the store, never its credentials.
   */
  private async artifactsCheck() {
    const check = this.indicators.check('artifacts');
    try {
      await this.store.probe();
      return check.up({ store: this.store.kind });
    } catch (error) {
      return check.down({
        store: this.store.kind,
        message: `${this.store.kind} artifact store: ${(error as Error).message}`,
      });
    }
  }

  /**
   * Versions whose file failed its check at start degrade readiness without failing it: the other
   * versions still serve. A count only: model names stay out of this public probe.
   */
  private registryCheck() {
    const failedVersions = this.preloader.failedVersions;
    const check = this.indicators.check('registry');
    return failedVersions === 0
      ? check.up({ failedVersions })
      : check.degraded({
          failedVersions,
          message: 'versions failed their file check at start; their failureReason says why',
        });
  }

  /** The prediction cache never fails readiness: while its store is down it is only degraded. */
  private async cacheCheck() {
    // Probe on every readiness call: it notices an outage, and a recovery, without prediction traffic.
    const reachable = await this.cache.probe();
    const { store, errors } = this.cache.stats();
    const check = this.indicators.check('cache');
    return reachable
      ? check.up({ store })
      : check.degraded({ store, errors, message: 'cache store unreachable; serving without it' });
  }

  /**
   * Up while at least one inference process runs; details say how many and what is loaded (in
   * totals: model names and process ids stay out of this public probe).
   */
  private engineCheck() {
    const { workers, alive, restarts, intraOpThreads, loadedVersions, loadedBytes, inFlight } = this.inference.status();
    const status = { workers, alive, restarts, intraOpThreads, loadedVersions, loadedBytes, inFlight };
    const check = this.indicators.check('inference');
    return alive > 0 ? check.up(status) : check.down({ ...status, message: 'no inference process is running' });
  }

  async readiness(): Promise<HealthResultDto> {
    if (this.shutdown.isDraining) {
      const down = { shutdown: { status: 'down' as const, message: 'The service is shutting down' } };
      return { status: 'shutting_down', error: down, details: down };
    }
    const checks: HealthIndicatorFunction[] = [
      () => this.db.pingCheck('database').withTimeout(2_000),
      () => this.engineCheck(),
      () => queueHealth(this.jobs, this.indicators),
      () => this.cacheCheck(),
      () => this.registryCheck(),
      () => this.artifactsCheck(),
    ];
    try {
      return (await this.health.check(checks)) as HealthResultDto;
    } catch (error) {
      // Terminus reports failing checks as a 503 exception whose body is the check result.
      if (error instanceof ServiceUnavailableException) return error.getResponse() as HealthResultDto;
      throw error;
    }
  }
}

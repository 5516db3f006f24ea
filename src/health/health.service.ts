import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorFunction, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { HealthResultDto } from './health.dto';
import { ShutdownState } from './shutdown-state';

@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly shutdown: ShutdownState,
  ) {}

  async readiness(): Promise<HealthResultDto> {
    if (this.shutdown.isDraining) {
      const down = { shutdown: { status: 'down' as const, message: 'The service is shutting down' } };
      return { status: 'shutting_down', error: down, details: down };
    }
    const checks: HealthIndicatorFunction[] = [() => this.db.pingCheck('database').withTimeout(2_000)];
    try {
      return (await this.health.check(checks)) as HealthResultDto;
    } catch (error) {
      // Terminus reports failing checks as a 503 exception whose body is the check result.
      if (error instanceof ServiceUnavailableException) return error.getResponse() as HealthResultDto;
      throw error;
    }
  }
}

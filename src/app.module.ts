import { DynamicModule, Module } from '@nestjs/common';
import { ApiModule } from './api.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { WorkerModule } from './worker.module';

/**
 * The root module, composed per APP_ROLE. Every process has the configuration, the database,
 * authentication (the global guard) and its probes, /health/* and /metrics; `api` adds ApiModule,
 * `worker` adds WorkerModule, `all` both. A worker therefore has no API controller, no prediction
 * log and no OpenAPI document.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        AuthModule,
        HealthModule.forRoot(config),
        MetricsModule,
        ...(config.app.servesApi ? [ApiModule.forRoot(config)] : []),
        ...(config.app.runsJobs ? [WorkerModule.forRoot(config)] : []),
      ],
    };
  }
}

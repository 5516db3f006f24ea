import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Clock, SystemClock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { AccessGuard } from './access.guard';
import { AuditService } from './audit/audit.service';
import { AuthEvents, LocalAuthEvents, RedisAuthEvents } from './auth-events';
import { AuthBootstrapService } from './bootstrap.service';
import { CredentialsService } from './credentials.service';
import { ApiKeyEntity } from './entities/api-key.entity';
import { AuditEventEntity } from './entities/audit-event.entity';
import { RefreshTokenEntity } from './entities/refresh-token.entity';
import { UserEntity } from './entities/user.entity';
import { ApiKeysController } from './keys/api-keys.controller';
import { ApiKeysService } from './keys/api-keys.service';
import { MeController } from './me.controller';
import { BucketStore } from './rate-limit/bucket-store';
import { createBucketStore } from './rate-limit/bucket-store.factory';
import { TokenBucketRateLimits } from './rate-limit/token-bucket-rate-limits';
import { RateLimits } from './rate-limits';
import { AccessTokens } from './tokens/access-tokens';
import { NoAccessTokens } from './tokens/no-access-tokens';

/** Keys, users and tokens, the global access guard, rate limits and the audit trail. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity, UserEntity, RefreshTokenEntity, AuditEventEntity])],
  controllers: [ApiKeysController, MeController],
  providers: [
    {
      provide: AuthEvents,
      inject: [AppConfig],
      useFactory: (config: AppConfig): AuthEvents =>
        config.redisUrl
          ? new RedisAuthEvents(config.redisUrl, `${config.jobsQueuePrefix}:auth-events`)
          : new LocalAuthEvents(),
    },
    { provide: Clock, useClass: SystemClock },
    { provide: BucketStore, inject: [AppConfig, MetricsService], useFactory: createBucketStore },
    { provide: RateLimits, useClass: TokenBucketRateLimits },
    { provide: AccessTokens, useClass: NoAccessTokens },
    { provide: APP_GUARD, useClass: AccessGuard },
    ApiKeysService,
    AuditService,
    CredentialsService,
    AuthBootstrapService,
  ],
  exports: [AuditService, CredentialsService],
})
export class AuthModule {}

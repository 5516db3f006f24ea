import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Clock, SystemClock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MetricsModule } from '../metrics/metrics.module';
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
import { ApiKeysService } from './keys/api-keys.service';
import { BucketStore } from './rate-limit/bucket-store';
import { createBucketStore } from './rate-limit/bucket-store.factory';
import { TokenBucketRateLimits } from './rate-limit/token-bucket-rate-limits';
import { RateLimits } from './rate-limits';
import { AccessTokens } from './tokens/access-tokens';
import { JwtAccessTokens } from './tokens/jwt-access-tokens';
import { JwtSecret } from './tokens/jwt-secret';
import { TokenSubjects } from './tokens/token-subjects';

/**
 * Who is calling, for every route of every process role: API keys, access tokens, the global
 * access guard, rate limits and the audit trail's writer. No routes: the keys, users, login and
 * audit endpoints are AuthApiModule's.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity, UserEntity, RefreshTokenEntity, AuditEventEntity]), MetricsModule],
  providers: [
    {
      provide: AuthEvents,
      inject: [AppConfig],
      useFactory: (config: AppConfig): AuthEvents =>
        config.redis.url
          ? new RedisAuthEvents(config.redis.url, `${config.redis.keyPrefix}:auth-events`)
          : new LocalAuthEvents(),
    },
    { provide: Clock, useClass: SystemClock },
    { provide: BucketStore, inject: [AppConfig, MetricsService], useFactory: createBucketStore },
    { provide: RateLimits, useClass: TokenBucketRateLimits },
    JwtSecret,
    TokenSubjects,
    JwtAccessTokens,
    { provide: AccessTokens, useExisting: JwtAccessTokens },
    { provide: APP_GUARD, useClass: AccessGuard },
    ApiKeysService,
    AuditService,
    CredentialsService,
    AuthBootstrapService,
  ],
  exports: [AuditService, AuthEvents, ApiKeysService, JwtAccessTokens, CredentialsService, RateLimits],
})
export class AuthModule {}

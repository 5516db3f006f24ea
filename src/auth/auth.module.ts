import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Clock, SystemClock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { AccessGuard } from './access.guard';
import { AuditController } from './audit/audit.controller';
import { AuditEventsService } from './audit/audit-events.service';
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
import { LoginThrottle, MemoryLoginThrottle } from './login/login-throttle';
import { RedisLoginThrottle } from './login/redis-login-throttle';
import { RefreshTokensService } from './login/refresh-tokens.service';
import { SessionsController } from './login/sessions.controller';
import { SessionsService } from './login/sessions.service';
import { BucketStore } from './rate-limit/bucket-store';
import { createBucketStore } from './rate-limit/bucket-store.factory';
import { TokenBucketRateLimits } from './rate-limit/token-bucket-rate-limits';
import { RateLimits } from './rate-limits';
import { AccessTokens } from './tokens/access-tokens';
import { JwtAccessTokens } from './tokens/jwt-access-tokens';
import { JwtSecret } from './tokens/jwt-secret';
import { TokenSubjects } from './tokens/token-subjects';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';

/** Keys, users and tokens, the global access guard, rate limits and the audit trail. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity, UserEntity, RefreshTokenEntity, AuditEventEntity])],
  controllers: [ApiKeysController, UsersController, SessionsController, MeController, AuditController],
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
    {
      provide: LoginThrottle,
      inject: [AppConfig],
      useFactory: (config: AppConfig): LoginThrottle => {
        const { loginMaxFailures, loginLockoutSeconds } = config.auth;
        return config.redis.url
          ? new RedisLoginThrottle(config.redis.url, config.redis.keyPrefix, loginMaxFailures, loginLockoutSeconds)
          : new MemoryLoginThrottle(loginMaxFailures, loginLockoutSeconds);
      },
    },
    JwtSecret,
    TokenSubjects,
    JwtAccessTokens,
    { provide: AccessTokens, useExisting: JwtAccessTokens },
    { provide: APP_GUARD, useClass: AccessGuard },
    ApiKeysService,
    AuditService,
    AuditEventsService,
    CredentialsService,
    AuthBootstrapService,
    UsersService,
    RefreshTokensService,
    SessionsService,
  ],
  exports: [AuditService, CredentialsService],
})
export class AuthModule {}

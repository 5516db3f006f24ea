import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
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
import { RateLimits, UnlimitedRateLimits } from './rate-limits';
import { AccessTokens } from './tokens/access-tokens';
import { NoAccessTokens } from './tokens/no-access-tokens';

/** Keys, users and tokens, the global access guard, rate limits and the audit trail. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity, UserEntity, RefreshTokenEntity, AuditEventEntity])],
  controllers: [ApiKeysController, MeController, AuditController],
  providers: [
    {
      provide: AuthEvents,
      inject: [AppConfig],
      useFactory: (config: AppConfig): AuthEvents =>
        config.redisUrl
          ? new RedisAuthEvents(config.redisUrl, `${config.jobsQueuePrefix}:auth-events`)
          : new LocalAuthEvents(),
    },
    { provide: RateLimits, useClass: UnlimitedRateLimits },
    { provide: AccessTokens, useClass: NoAccessTokens },
    { provide: APP_GUARD, useClass: AccessGuard },
    ApiKeysService,
    AuditService,
    AuditEventsService,
    CredentialsService,
    AuthBootstrapService,
  ],
  exports: [AuditService, CredentialsService],
})
export class AuthModule {}

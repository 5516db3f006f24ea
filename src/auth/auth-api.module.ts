import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { AuditController } from './audit/audit.controller';
import { AuditEventsService } from './audit/audit-events.service';
import { AuthModule } from './auth.module';
import { AuditEventEntity } from './entities/audit-event.entity';
import { UserEntity } from './entities/user.entity';
import { ApiKeysController } from './keys/api-keys.controller';
import { LoginThrottle, MemoryLoginThrottle } from './login/login-throttle';
import { RedisLoginThrottle } from './login/redis-login-throttle';
import { RefreshTokensService } from './login/refresh-tokens.service';
import { SessionsController } from './login/sessions.controller';
import { SessionsService } from './login/sessions.service';
import { MeController } from './me.controller';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';

/** The auth endpoints of the HTTP API: keys, users, login and sessions, the caller, the audit trail. */
@Module({
  imports: [AuthModule, TypeOrmModule.forFeature([UserEntity, AuditEventEntity])],
  controllers: [ApiKeysController, UsersController, SessionsController, MeController, AuditController],
  providers: [
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
    AuditEventsService,
    UsersService,
    RefreshTokensService,
    SessionsService,
  ],
})
export class AuthApiModule {}

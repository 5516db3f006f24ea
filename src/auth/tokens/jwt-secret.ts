import { randomBytes } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { EnvironmentError } from '../../config/environment';
import { UserEntity } from '../entities/user.entity';

export const JWT_SECRET_REQUIRED = 'JWT_SECRET: required in production once users exist';

/**
 * The HMAC key that signs access tokens: JWT_SECRET, or a random key made for this process when
 * it is not set (tokens then die with the process and are not shared by replicas, which is fine
 * for development and warned about). In production a stored user makes JWT_SECRET mandatory:
 * the start stops with a config error (exit code 2) instead of logging users out at every
 * restart and on every other replica.
 */
@Injectable()
export class JwtSecret implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');
  /** The signing key (bytes of JWT_SECRET, or 32 random bytes). */
  readonly key: Uint8Array;
  readonly configured: boolean;

  constructor(
    private readonly config: AppConfig,
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
  ) {
    const secret = config.auth.jwtSecret;
    this.configured = secret !== undefined;
    this.key = secret !== undefined ? new TextEncoder().encode(secret) : new Uint8Array(randomBytes(32));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.configured || !this.config.auth.enabled || !this.config.app.servesApi) return;
    const production = this.config.app.nodeEnv === 'production';
    if (production && (await this.users.count({ take: 1 })) > 0) throw new EnvironmentError([JWT_SECRET_REQUIRED]);
    this.logger.warn(
      'JWT_SECRET is not set: access tokens are signed with a random key of this process; they stop working at ' +
        'restart and are not accepted by other replicas.' +
        (production ? ' Set JWT_SECRET before creating users: once a user exists, a start without it fails.' : ''),
    );
  }
}

import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { UserEntity } from './entities/user.entity';
import { ApiKeysService } from './keys/api-keys.service';
import type { Principal } from './principal';

const BOOTSTRAP_PRINCIPAL: Principal = Object.freeze({
  kind: 'admin-key',
  id: 'bootstrap',
  name: 'first start',
  role: 'admin',
  actor: 'bootstrap',
  models: null,
  rateLimitPerMinute: null,
});

/**
 * First start: with auth on, no ADMIN_API_KEY and no key or user stored, creates an admin key and
 * prints it once on stdout (outside the JSON log stream, which may be shipped elsewhere), so that
 * `npm ci && npm start` gives a working service. AUTH_ENABLED=false is warned about at every start.
 */
@Injectable()
export class AuthBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysService,
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const auth = this.config.auth;
    if (!auth.enabled) {
      this.logger.warn(
        'AUTH_ENABLED=false: every route is open to anyone who can reach this port. Development only; never expose this process.',
      );
      return;
    }
    if (auth.adminApiKey || !this.config.app.servesApi) return;
    if ((await this.keys.any()) || (await this.users.count({ take: 1 })) > 0) return;
    const created = await this.keys.create(
      { name: 'bootstrap-admin', role: 'admin' },
      { principal: BOOTSTRAP_PRINCIPAL, requestId: 'bootstrap' },
    );
    process.stdout.write(
      [
        '',
        '================================================================================',
        ' ModelForge: first start. An admin API key was created; it is shown only now:',
        '',
        `   ${created.key}`,
        '',
        ' Send it as "Authorization: Bearer <key>". Create keys for clients with',
        ' POST /api/v1/auth/keys, then revoke this one (DELETE /api/v1/auth/keys/{id}).',
        '================================================================================',
        '',
      ].join('\n') + '\n',
    );
    this.logger.log({ msg: 'Created the bootstrap admin API key', keyId: created.id, prefix: created.prefix });
  }
}

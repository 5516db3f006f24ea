import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { UnauthenticatedError } from '../../common/errors';
import { UserEntity } from '../entities/user.entity';
import { JwtAccessTokens } from '../tokens/jwt-access-tokens';
import { decoyHash, verifyPassword } from '../users/password';
import { AccessTokenDto, LoginDto } from './login.dto';
import { LoginThrottle } from './login-throttle';
import { RefreshTokensService } from './refresh-tokens.service';

/** What a login or refresh hands back: the body, and the refresh token for the cookie. */
export interface Session {
  access: AccessTokenDto;
  refreshToken: string;
}

/** One message for a wrong username and a wrong password: the answer must not tell which. */
const BAD_CREDENTIALS = 'Invalid username or password';

/** Login, refresh and logout: passwords in, access tokens and rotating refresh tokens out. */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger('Login');

  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly throttle: LoginThrottle,
    private readonly refreshTokens: RefreshTokensService,
    private readonly accessTokens: JwtAccessTokens,
  ) {}

  /**
   * Checks the password (after the throttle, and as slowly for an unknown username as for a
   * known one) and starts a session.
   */
  async login(dto: LoginDto, address: string): Promise<Session> {
    const attempt = { username: dto.username, address };
    await this.throttle.admit(attempt);
    const user = await this.users.findOneBy({ username: dto.username });
    const matches = await verifyPassword(dto.password, user ? user.passwordHash : await decoyHash());
    if (!user || !matches) {
      await this.throttle.recordFailure(attempt);
      this.logger.log({ msg: 'Login failed', username: dto.username, address });
      throw new UnauthenticatedError(BAD_CREDENTIALS);
    }
    await this.throttle.recordSuccess(attempt);
    const refresh = await this.refreshTokens.start(user.id);
    this.logger.log({ msg: 'Login', userId: user.id, username: user.username, address });
    return this.session(user, refresh.familyId, refresh.token);
  }

  /** A new access token and the next refresh token of the session (the presented one is used up). */
  async refresh(refreshToken: string | undefined): Promise<Session> {
    if (!refreshToken) throw new UnauthenticatedError('No refresh token: log in first');
    const rotated = await this.refreshTokens.rotate(refreshToken);
    const user = await this.users.findOneBy({ id: rotated.userId });
    if (!user) throw new UnauthenticatedError('The refresh token is not valid; log in again');
    return this.session(user, rotated.familyId, rotated.token);
  }

  /** Ends the session of the refresh token, if there is one. */
  async logout(refreshToken: string | undefined): Promise<void> {
    if (refreshToken) await this.refreshTokens.end(refreshToken);
  }

  private async session(user: UserEntity, familyId: string, refreshToken: string): Promise<Session> {
    const issued = await this.accessTokens.issue({
      userId: user.id,
      username: user.username,
      role: user.role,
      familyId,
    });
    return { access: { ...issued, tokenType: 'Bearer' }, refreshToken };
  }
}

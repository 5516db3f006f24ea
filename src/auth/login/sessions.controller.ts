import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrors } from '../../common/api-errors.decorator';
import { AppConfig } from '../../config/app-config';
import { Public } from '../access.decorator';
import { AccessTokenDto, LoginDto } from './login.dto';
import { REFRESH_COOKIE, RefreshCookie } from './refresh-cookie';
import { SessionsService } from './sessions.service';

const SET_COOKIE = {
  'Set-Cookie': {
    description: `${REFRESH_COOKIE}=<refresh token>; HttpOnly; SameSite=Strict; Path=/api/v1/auth; Max-Age=JWT_REFRESH_TTL_SECONDS (Secure when AUTH_COOKIE_SECURE)`,
    schema: { type: 'string' },
  },
};

/** Login, refresh and logout: public routes (the password or the refresh cookie is the credential). */
@ApiTags('auth')
@Public()
@Controller('api/v1/auth')
export class SessionsController {
  private readonly cookie: RefreshCookie;

  constructor(
    private readonly sessions: SessionsService,
    config: AppConfig,
  ) {
    this.cookie = new RefreshCookie(config.auth);
  }

  @Post('login')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'login',
    summary: 'Log in with username and password: an access token, and a refresh token in a cookie',
    description:
      'Wrong username and wrong password get the same 401. After LOGIN_MAX_FAILURES failures within ' +
      'LOGIN_LOCKOUT_SECONDS for a username or from an address, attempts get 429 with Retry-After.',
  })
  @ApiOkResponse({ type: AccessTokenDto, headers: SET_COOKIE })
  @ApiErrors(400, 401, 413, 415, 429, 503)
  async login(
    @Body() dto: LoginDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AccessTokenDto> {
    const session = await this.sessions.login(dto, req.ip ?? req.socket.remoteAddress ?? 'unknown');
    this.cookie.set(res.setHeader('Cache-Control', 'no-store'), session.refreshToken);
    return session.access;
  }

  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'refreshAccessToken',
    summary: 'A new access token for the refresh cookie; the cookie is replaced (rotation)',
    description:
      `Reads the ${REFRESH_COOKIE} cookie set by login. Each refresh token works once. Presenting one that was already used revokes its whole session ` +
      '(every refresh token and access token of that login).',
  })
  @ApiOkResponse({ type: AccessTokenDto, headers: SET_COOKIE })
  @ApiErrors(401, 415, 503)
  async refresh(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<AccessTokenDto> {
    const session = await this.sessions.refresh(this.cookie.read(req));
    this.cookie.set(res.setHeader('Cache-Control', 'no-store'), session.refreshToken);
    return session.access;
  }

  @Post('logout')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'logout',
    summary: 'End the session of the refresh cookie (its refresh and access tokens) and clear the cookie',
    description: `Reads the ${REFRESH_COOKIE} cookie. Also 204 without a cookie or with an unknown one.`,
  })
  @ApiNoContentResponse({ description: 'Logged out' })
  @ApiErrors(415, 503)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.sessions.logout(this.cookie.read(req));
    this.cookie.clear(res);
  }
}

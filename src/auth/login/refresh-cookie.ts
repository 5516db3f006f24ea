import { parse } from 'cookie';
import type { CookieOptions, Request, Response } from 'express';
import type { AuthConfig } from '../../config/app-config';

export const REFRESH_COOKIE = 'mf_refresh';
/** Sent only to the auth routes (refresh, logout), never with API calls or to other paths. */
export const REFRESH_COOKIE_PATH = '/api/v1/auth';

/**
 * The refresh token travels only in an httpOnly (no script can read it), SameSite=Strict (no
 * other site can make the browser send it) cookie, Secure when AUTH_COOKIE_SECURE (default in
 * production).
 */
export class RefreshCookie {
  private readonly options: CookieOptions;

  constructor(private readonly auth: AuthConfig) {
    this.options = { httpOnly: true, sameSite: 'strict', path: REFRESH_COOKIE_PATH, secure: auth.cookieSecure };
  }

  read(req: Request): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    const value = parse(header)[REFRESH_COOKIE];
    return value && value.length <= 256 ? value : undefined;
  }

  set(res: Response, token: string): void {
    res.cookie(REFRESH_COOKIE, token, { ...this.options, maxAge: this.auth.refreshTtlSeconds * 1000 });
  }

  clear(res: Response): void {
    res.clearCookie(REFRESH_COOKIE, this.options);
  }
}

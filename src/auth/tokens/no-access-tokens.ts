import type { CredentialFailure } from '../principal';
import { AccessTokens } from './access-tokens';

/** Until users and JWT are configured: no access token is valid. */
export class NoAccessTokens extends AccessTokens {
  async verify(): Promise<CredentialFailure> {
    return 'unknown';
  }
}

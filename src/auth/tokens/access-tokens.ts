import type { CredentialFailure, Principal } from '../principal';

/** Verifies access tokens (JWT) of users. Bound in AuthModule. */
export abstract class AccessTokens {
  abstract verify(token: string): Promise<Principal | CredentialFailure>;
}

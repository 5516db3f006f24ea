import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An API key is `mf_` + 8 characters (the prefix, stored and shown) + `_` + 43 base64url
 * characters (32 random bytes). Only the SHA-256 of the whole key is stored: the secret has
 * 256 bits of entropy, so a slow hash would add cost per request and no safety.
 */
export const API_KEY_FORMAT = /^mf_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/;
const PREFIX_LENGTH = 11;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface NewApiKey {
  key: string;
  prefix: string;
  hash: string;
}

export function generateApiKey(): NewApiKey {
  // 62 letters and digits from bytes below 248 (4 × 62): no modulo bias.
  let id = '';
  while (id.length < 8) {
    for (const byte of randomBytes(16)) if (byte < 248 && id.length < 8) id += ALPHANUMERIC[byte % 62];
  }
  const key = `mf_${id}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, PREFIX_LENGTH), hash: hashSecret(key) };
}

export function apiKeyPrefix(key: string): string | undefined {
  return API_KEY_FORMAT.test(key) ? key.slice(0, PREFIX_LENGTH) : undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of a presented secret with a stored SHA-256 (hex). */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = createHash('sha256').update(secret).digest();
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

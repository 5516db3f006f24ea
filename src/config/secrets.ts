/** Variables whose value may carry a password in its URL (`scheme://user:password@host`). */
export const URL_SECRET_VARIABLES = ['DATABASE_URL', 'REDIS_URL'] as const;

/** Variables that are secrets as a whole (keys and signing secrets). */
export const TOKEN_SECRET_VARIABLES = ['ADMIN_API_KEY', 'JWT_SECRET', 'METRICS_TOKEN'] as const;

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#\s]*)@/i;

/** The value with the password of its userinfo replaced, even when the rest of it is not a valid URL. */
export function redactUrl(value: string): string {
  return value.replace(USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Every secret string the configuration holds (URL passwords, raw and percent-decoded), for the
 * log scrubber: whatever a driver puts in an error message, these never reach an output.
 */
export function secretsOf(source: NodeJS.ProcessEnv | Record<string, string | undefined>): string[] {
  const found = new Set<string>();
  for (const name of URL_SECRET_VARIABLES) {
    const userinfo = USERINFO.exec(source[name] ?? '')?.[2];
    const colon = userinfo?.indexOf(':') ?? -1;
    if (!userinfo || colon === -1) continue;
    const password = userinfo.slice(colon + 1);
    // Very short values would scrub ordinary text; they are no secret anyway.
    for (const candidate of [password, decoded(password)]) if (candidate.length >= 4) found.add(candidate);
  }
  for (const name of TOKEN_SECRET_VARIABLES) {
    const value = source[name];
    if (value && value.length >= 4) found.add(value);
  }
  return [...found];
}

/** Replaces every occurrence of each secret (longest first) with `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  return out;
}

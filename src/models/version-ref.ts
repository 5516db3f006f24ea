/**
 * How a request names the version it wants: a version number, an alias name (MLflow's
 * `champion`), `latest` for the latest ready version, or nothing (undefined): the model's traffic
 * policy picks, or the latest ready version when it has none.
 */
export type VersionRef = number | string;

export const MAX_VERSION_NUMBER = 2_147_483_647;
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
/** Requests may spell "the latest ready version" by this name; no alias may take it. */
export const LATEST = 'latest';
export const ALIAS_RULE = `must match ${ALIAS_PATTERN.source} (1-32 characters, starting with a letter) and not be '${LATEST}'`;
export const VERSION_REF_RULE = `must be a version number from 1 to ${MAX_VERSION_NUMBER} or an alias name ('${LATEST}' for the latest ready version; omit it to follow the model's traffic policy)`;

/**
 * The OpenAPI schema of a `version` field or parameter: a number or an alias name. Its
 * description says what leaving it out means.
 */
export function versionRefSchema(description: string) {
  return {
    oneOf: [
      { type: 'integer' as const, minimum: 1, maximum: MAX_VERSION_NUMBER },
      { type: 'string' as const, pattern: ALIAS_PATTERN.source },
    ],
    example: 2,
    description: `A version number or an alias name (\`champion\`). ${description}`,
  };
}

export function isAlias(value: string): boolean {
  return ALIAS_PATTERN.test(value) && value !== LATEST;
}

/**
 * A `version` field of a JSON body: undefined (absent), a version number, an alias name or
 * `latest`; null when it is none of these.
 */
export function readVersionRef(value: unknown): VersionRef | undefined | null {
  if (value === undefined || value === LATEST) return value;
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 1 && value <= MAX_VERSION_NUMBER ? value : null;
  }
  return typeof value === 'string' && isAlias(value) ? value : null;
}

/**
 * A version spelled as text (a path segment, a query parameter, gRPC `model_version`): decimal
 * digits are a number, `latest` the latest, anything else an alias name; empty names none
 * (undefined). Null when it is neither.
 */
export function parseVersionRef(text: string): VersionRef | undefined | null {
  if (text === '') return undefined;
  if (text === LATEST) return LATEST;
  if (/^[1-9]\d{0,9}$/.test(text)) return Number(text) <= MAX_VERSION_NUMBER ? Number(text) : null;
  return isAlias(text) ? text : null;
}

/** Bounds of a version's free-form metadata, so a row and its responses stay small. */
export const METADATA_LIMITS = {
  maxKeys: 64,
  keyPattern: /^[A-Za-z0-9_.:-]{1,64}$/,
  maxStringLength: 1024,
} as const;

export const METADATA_RULE =
  `metadata must be an object of at most ${METADATA_LIMITS.maxKeys} keys matching ` +
  `${METADATA_LIMITS.keyPattern.source}, each value a string of up to ${METADATA_LIMITS.maxStringLength} ` +
  'characters or a finite number';

/** What is wrong with a metadata value, naming the first offending key; undefined when it is fine. */
export function metadataProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return METADATA_RULE;
  const entries = Object.entries(value);
  if (entries.length > METADATA_LIMITS.maxKeys) {
    return `metadata has ${entries.length} keys; at most ${METADATA_LIMITS.maxKeys} are allowed`;
  }
  for (const [key, item] of entries) {
    if (!METADATA_LIMITS.keyPattern.test(key)) {
      return `metadata key '${key.slice(0, 64)}' must match ${METADATA_LIMITS.keyPattern.source}`;
    }
    const fits =
      (typeof item === 'string' && item.length <= METADATA_LIMITS.maxStringLength) ||
      (typeof item === 'number' && Number.isFinite(item));
    if (!fits) {
      return `metadata.${key} must be a string of up to ${METADATA_LIMITS.maxStringLength} characters or a finite number`;
    }
  }
  return undefined;
}

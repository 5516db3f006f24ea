import { escapeLike } from '../database/errors';

/**
 * Model-name patterns of a scoped credential: a model name (`iris`) or a prefix ending in `*`
 * (`fraud-*`). Names are `^[a-z0-9][a-z0-9._-]{0,63}$`, so a pattern is that with an optional
 * trailing `*`.
 */
export const MODEL_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}\*?$|^\*$/;

export function matchesModelPattern(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/** Whether a credential scoped to `patterns` (null = every model) may touch model `name`. */
export function mayTouchModel(patterns: readonly string[] | null, name: string): boolean {
  return patterns === null || patterns.some((pattern) => matchesModelPattern(pattern, name));
}

/**
 * The patterns as SQL LIKE conditions on `column` (escaping `_` and `%`, which model names may
 * contain), for filtering lists in the database so paging stays right. Null = no filter.
 */
export function modelPatternsWhere(
  column: string,
  patterns: readonly string[] | null,
  parameterPrefix = 'modelPattern',
): { sql: string; parameters: Record<string, string> } | null {
  if (patterns === null) return null;
  if (patterns.length === 0) return { sql: '1 = 0', parameters: {} };
  const parameters: Record<string, string> = {};
  const clauses = patterns.map((pattern, i) => {
    const name = `${parameterPrefix}${i}`;
    const literal = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
    const escaped = escapeLike(literal);
    parameters[name] = pattern.endsWith('*') ? `${escaped}%` : escaped;
    return `${column} LIKE :${name} ESCAPE '\\'`;
  });
  return { sql: `(${clauses.join(' OR ')})`, parameters };
}

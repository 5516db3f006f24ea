/** The roles of docs/api.md ("Access"). What each may do is declared per route with `@Access`. */
export const ROLES = ['admin', 'maintainer', 'predictor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

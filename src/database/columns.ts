import type { ValueTransformer } from 'typeorm';

/** bigint comes back from PostgreSQL as a string; sizes stay well inside 2^53. */
export const bigintToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

import { createHash } from 'node:crypto';
import { InvalidInputError } from '../common/errors';
import { LATEST, MAX_VERSION_NUMBER, readVersionRef, VersionRef } from './version-ref';

/** Members of a split at most: a canary or an A/B test needs a handful, not a hundred. */
export const MAX_SPLIT_MEMBERS = 16;
/** Weights are integers from 0 to this; only their ratios matter (90/10 = 9/1). */
export const MAX_WEIGHT = 1_000_000;

/**
 * Header names a sticky split may not key on: credentials, cookies and hop-by-hop or routing
 * headers either carry secrets (the hash would be a per-secret fingerprint) or are rewritten by
 * proxies, so they would not keep a client on one version.
 */
export const RESERVED_STICKY_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'host',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'x-api-key',
];

const MEMBER_RULE = `must be a version number from 1 to ${MAX_VERSION_NUMBER} or an alias name (not 'latest')`;

/** RFC 9110 `token` (1*tchar), the grammar of a header field name. */
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_MAX_LENGTH = 64;

export interface TrafficMember {
  /** A version number or an alias name, resolved when a request picks this member. */
  version: VersionRef;
  weight: number;
}

/**
 * A version that gets a copy of a share of the requests the split serves, after their response:
 * its results go to the prediction log, never to the client (see ShadowService).
 */
export interface ShadowTarget {
  version: VersionRef;
  /** Share of the split's requests mirrored, 0 to 100 (fractions allowed: 0.5 is one in 200). */
  percent: number;
}

/**
 * A model's traffic policy, as stored and returned: the split, the sticky header (lower case),
 * and the shadow. Policies stored before shadows existed have no `shadow` key: read it with
 * `shadowOf`.
 */
export interface TrafficPolicy {
  split: TrafficMember[];
  sticky: { header: string } | null;
  shadow?: ShadowTarget | null;
}

/** The policy's shadow, or null (also for policies stored before shadows existed). */
export function shadowOf(policy: Pick<TrafficPolicy, 'shadow'> | null | undefined): ShadowTarget | null {
  return policy?.shadow ?? null;
}

/** How a request's headers are read when a sticky policy needs one: by lower-case name. */
export type HeaderLookup = (name: string) => string | undefined;

/**
 * What a request brings to a traffic pick: its headers, for a sticky split, and one random point
 * drawn when it arrived, so that every resolution of the request (the raw cache lookup, then the
 * full path) picks the same member. Two independent draws would favour whichever member a cached
 * answer came from.
 */
export interface TrafficPick {
  headers?: HeaderLookup;
  point: number;
}

export function trafficPick(headers?: HeaderLookup, random: () => number = Math.random): TrafficPick {
  return { headers, point: random() };
}

/** The body of PUT /api/v1/models/{name}/traffic, checked; 400 naming the field otherwise. */
export function readTrafficPolicy(body: unknown): TrafficPolicy {
  if (!isRecord(body)) throw new InvalidInputError('The body must be a JSON object {split, sticky?, shadow?}');
  const unknown = Object.keys(body).filter((key) => !POLICY_FIELDS.includes(key));
  if (unknown.length > 0)
    throw new InvalidInputError(`Unknown field '${unknown[0].slice(0, 64)}'; expected split, sticky, shadow`);
  const split = readSplit(body.split);
  const shadow = readShadow(body.shadow);
  // Aliases are compared with the versions they name under the model's lock (ModelRepository).
  if (shadow && split.some((member) => member.version === shadow.version)) {
    throw new InvalidInputError(
      `shadow.version: ${shadow.version} is a member of the split; a shadow must be another version`,
    );
  }
  return { split, sticky: readSticky(body.sticky), shadow };
}

const POLICY_FIELDS = ['split', 'sticky', 'shadow'];

function readShadow(value: unknown): ShadowTarget | null {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw new InvalidInputError('shadow must be an object {version, percent}');
  const extra = Object.keys(value).find((key) => key !== 'version' && key !== 'percent');
  if (extra !== undefined) throw new InvalidInputError(`shadow: unknown field '${extra.slice(0, 64)}'`);
  const version = readVersionRef(value.version);
  if (version === undefined || version === null || version === LATEST)
    throw new InvalidInputError(`shadow.version ${MEMBER_RULE}`);
  const percent = value.percent;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new InvalidInputError('shadow.percent must be a number from 0 to 100');
  }
  return { version, percent };
}

function readSplit(value: unknown): TrafficMember[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_SPLIT_MEMBERS) {
    throw new InvalidInputError(`split must be an array of 1 to ${MAX_SPLIT_MEMBERS} members {version, weight}`);
  }
  const split = value.map(readMember);
  const seen = new Set<VersionRef>();
  for (const [i, member] of split.entries()) {
    if (seen.has(member.version)) throw new InvalidInputError(`split[${i}].version: ${member.version} is named twice`);
    seen.add(member.version);
  }
  if (split.every((member) => member.weight === 0))
    throw new InvalidInputError('split: at least one weight must be above 0');
  return split;
}

function readMember(value: unknown, i: number): TrafficMember {
  if (!isRecord(value)) throw new InvalidInputError(`split[${i}] must be an object {version, weight}`);
  const extra = Object.keys(value).find((key) => key !== 'version' && key !== 'weight');
  if (extra !== undefined) throw new InvalidInputError(`split[${i}]: unknown field '${extra.slice(0, 64)}'`);
  const version = readVersionRef(value.version);
  if (version === undefined || version === null || version === LATEST)
    throw new InvalidInputError(`split[${i}].version ${MEMBER_RULE}`);
  const weight = value.weight;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    throw new InvalidInputError(`split[${i}].weight must be an integer from 0 to ${MAX_WEIGHT}`);
  }
  return { version, weight };
}

function readSticky(value: unknown): TrafficPolicy['sticky'] {
  if (value === undefined || value === null) return null;
  if (!isRecord(value) || Object.keys(value).some((key) => key !== 'header')) {
    throw new InvalidInputError('sticky must be an object {header}');
  }
  const header = value.header;
  if (typeof header !== 'string' || header.length > HEADER_MAX_LENGTH || !HEADER_TOKEN.test(header)) {
    throw new InvalidInputError(
      `sticky.header must be an HTTP header name (RFC 9110 token, 1-${HEADER_MAX_LENGTH} characters)`,
    );
  }
  const name = header.toLowerCase();
  if (RESERVED_STICKY_HEADERS.includes(name)) throw new InvalidInputError(`sticky.header '${name}' is reserved`);
  return { header: name };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The member a request lands on. With a sticky header present, the point is a stable hash of its
 * value; otherwise the request's random point (a fresh one without a request). The point falls into the members' cumulative weights, in the order
 * the split lists them: [A 90, B 10] gives A [0, 0.9) and B [0.9, 1).
 *
 * Why cumulative intervals over a stable hash (and not a hash modulo the member count): moving
 * weight between neighbours moves only the boundary between them, so only the values whose point
 * lies in the moved share change member. Going from [A 90, B 10] to [A 80, B 20] moves exactly the
 * values in [0.8, 0.9), 10% of them, all from A to B; every other value keeps its version. (With
 * more members, each boundary that shifts moves the values between its old and new place.)
 */
export function pickMember(
  split: readonly TrafficMember[],
  sticky: TrafficPolicy['sticky'],
  request: TrafficPick | undefined,
): TrafficMember {
  const value = sticky && request?.headers?.(sticky.header);
  if (value !== undefined && value !== null && value !== '') return memberAt(split, stablePoint(value));
  return memberAt(split, request?.point ?? Math.random());
}

/** The member whose cumulative-weight interval holds `point` (in [0, 1)). */
export function memberAt(split: readonly TrafficMember[], point: number): TrafficMember {
  const total = split.reduce((sum, member) => sum + member.weight, 0);
  let edge = 0;
  for (const member of split) {
    edge += member.weight;
    if (point * total < edge) return member;
  }
  // Rounding at the top end: the last member with weight.
  return split.filter((member) => member.weight > 0).at(-1) ?? split[split.length - 1];
}

/** A value's point in [0, 1): the first 48 bits of its SHA-256, the same on every replica and restart. */
export function stablePoint(value: string): number {
  return createHash('sha256').update(value).digest().readUIntBE(0, 6) / 2 ** 48;
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../test/support/prng';
import { InvalidInputError } from '../common/errors';
import { MAX_SPLIT_MEMBERS, pickMember, readTrafficPolicy, TrafficMember, trafficPick } from './traffic-policy';

const REQUESTS = 10_000;

/** Each member's share of `REQUESTS` random picks, by version. */
function shares(split: TrafficMember[], seed: number): Map<string | number, number> {
  const random = prng(seed);
  const counts = new Map<string | number, number>();
  for (let i = 0; i < REQUESTS; i++) {
    const member = pickMember(split, null, trafficPick(undefined, random));
    counts.set(member.version, (counts.get(member.version) ?? 0) + 1);
  }
  return new Map([...counts].map(([version, count]) => [version, count / REQUESTS]));
}

/** The member each of `keys` lands on under a sticky split. */
function stickyPicks(split: TrafficMember[], keys: string[]): (string | number)[] {
  const sticky = { header: 'x-user-id' };
  return keys.map(
    (key) =>
      pickMember(
        split,
        sticky,
        trafficPick((name) => (name === 'x-user-id' ? key : undefined)),
      ).version,
  );
}

const USERS = Array.from({ length: REQUESTS }, (_, i) => `user-${i}`);

describe('traffic split selection', () => {
  for (const [seed, split] of [
    [
      1,
      [
        { version: 1, weight: 90 },
        { version: 2, weight: 10 },
      ],
    ],
    [
      2,
      [
        { version: 1, weight: 50 },
        { version: 'champion', weight: 30 },
        { version: 3, weight: 20 },
      ],
    ],
    [
      3,
      [
        { version: 1, weight: 1 },
        { version: 2, weight: 0 },
        { version: 3, weight: 3 },
      ],
    ],
  ] as [number, TrafficMember[]][]) {
    it(`over ${REQUESTS} requests each member gets its weight's share within 2 points (seed ${seed})`, () => {
      const total = split.reduce((sum, m) => sum + m.weight, 0);
      const seen = shares(split, seed);
      for (const member of split) {
        const share = seen.get(member.version) ?? 0;
        assert.ok(
          Math.abs(share - member.weight / total) <= 0.02,
          `${member.version}: ${share} vs ${member.weight / total}`,
        );
      }
    });
  }

  it('a sticky value keeps its member across calls, and values spread by weight', () => {
    const split = [
      { version: 1, weight: 70 },
      { version: 2, weight: 30 },
    ];
    const first = stickyPicks(split, USERS);
    assert.deepEqual(stickyPicks(split, USERS), first);
    const onTwo = first.filter((v) => v === 2).length / USERS.length;
    assert.ok(Math.abs(onTwo - 0.3) <= 0.02, `share on 2: ${onTwo}`);
  });

  it('changing weights moves only the values in the moved share, all toward the grown member', () => {
    const before = stickyPicks(
      [
        { version: 1, weight: 90 },
        { version: 2, weight: 10 },
      ],
      USERS,
    );
    const after = stickyPicks(
      [
        { version: 1, weight: 80 },
        { version: 2, weight: 20 },
      ],
      USERS,
    );
    const moved = USERS.filter((_, i) => before[i] !== after[i]);
    assert.ok(Math.abs(moved.length / USERS.length - 0.1) <= 0.02, `moved ${moved.length / USERS.length}`);
    for (const [i] of USERS.entries()) if (before[i] !== after[i]) assert.deepEqual([before[i], after[i]], [1, 2]);
  });

  it("without the sticky header, or with it empty, uses the request's one random point", () => {
    const split = [
      { version: 1, weight: 1 },
      { version: 2, weight: 1 },
    ];
    const sticky = { header: 'x-user-id' };
    assert.equal(pickMember(split, sticky, { headers: () => undefined, point: 0.75 }).version, 2);
    assert.equal(pickMember(split, sticky, { headers: () => '', point: 0.25 }).version, 1);
    // One request, resolved twice (raw cache lookup, then the full path): the same member.
    const request = trafficPick(undefined, prng(9));
    const first = pickMember(split, null, request).version;
    for (let i = 0; i < 10; i++) assert.equal(pickMember(split, null, request).version, first);
  });

  it('a zero-weight member is never picked', () => {
    const split = [
      { version: 1, weight: 0 },
      { version: 2, weight: 5 },
      { version: 3, weight: 0 },
    ];
    for (const point of [0, 0.5, 0.999999999]) assert.equal(pickMember(split, null, { point }).version, 2);
  });
});

describe('traffic policy body', () => {
  it('reads members by version number or alias, and lower-cases the sticky header', () => {
    assert.deepEqual(
      readTrafficPolicy({
        split: [
          { version: 1, weight: 9 },
          { version: 'canary', weight: 1 },
        ],
        sticky: { header: 'X-User-Id' },
      }),
      {
        split: [
          { version: 1, weight: 9 },
          { version: 'canary', weight: 1 },
        ],
        sticky: { header: 'x-user-id' },
        shadow: null,
      },
    );
    assert.deepEqual(readTrafficPolicy({ split: [{ version: 2, weight: 1 }] }).sticky, null);
  });

  it('reads a shadow by version number or alias, with a fractional percent', () => {
    const split = [{ version: 1, weight: 1 }];
    assert.deepEqual(readTrafficPolicy({ split, shadow: { version: 'candidate', percent: 0.5 } }).shadow, {
      version: 'candidate',
      percent: 0.5,
    });
    assert.deepEqual(readTrafficPolicy({ split, shadow: { version: 2, percent: 100 } }).shadow, {
      version: 2,
      percent: 100,
    });
    assert.equal(readTrafficPolicy({ split, shadow: null }).shadow, null);
  });

  const member = (weight: unknown, version: unknown = 1) => ({ version, weight });
  for (const [why, body, names] of [
    ['not an object', [], 'JSON object'],
    ['an unknown field', { split: [member(1)], mirror: {} }, "'mirror'"],
    ['a shadow that is no object', { split: [member(1)], shadow: 2 }, 'shadow must be'],
    ['a shadow without version', { split: [member(1)], shadow: { percent: 5 } }, 'shadow.version'],
    ['latest as the shadow', { split: [member(1)], shadow: { version: 'latest', percent: 5 } }, 'shadow.version'],
    ['a shadow percent as text', { split: [member(1)], shadow: { version: 2, percent: '5' } }, 'shadow.percent'],
    ['a shadow percent over 100', { split: [member(1)], shadow: { version: 2, percent: 100.5 } }, 'shadow.percent'],
    ['a negative shadow percent', { split: [member(1)], shadow: { version: 2, percent: -1 } }, 'shadow.percent'],
    ['a shadow without percent', { split: [member(1)], shadow: { version: 2 } }, 'shadow.percent'],
    ['an unknown shadow field', { split: [member(1)], shadow: { version: 2, percent: 1, x: 1 } }, "'x'"],
    ['a shadow that is a split member', { split: [member(1, 'a')], shadow: { version: 'a', percent: 1 } }, 'member'],
    ['no split', {}, 'split'],
    ['an empty split', { split: [] }, 'split'],
    ['too many members', { split: Array.from({ length: MAX_SPLIT_MEMBERS + 1 }, (_, i) => member(1, i + 1)) }, 'split'],
    ['a negative weight', { split: [member(-1)] }, 'split[0].weight'],
    ['a fractional weight', { split: [member(0.5)] }, 'split[0].weight'],
    ['a string weight', { split: [member('1')] }, 'split[0].weight'],
    ['a missing weight', { split: [{ version: 1 }] }, 'split[0].weight'],
    ['all weights zero', { split: [member(0, 1), member(0, 2)] }, 'above 0'],
    ['a duplicate member', { split: [member(1, 'a'), member(1, 'a')] }, 'split[1].version'],
    ['a member without version', { split: [{ weight: 1 }] }, 'split[0].version'],
    ['latest as a member', { split: [member(1, 'latest')] }, 'split[0].version'],
    ['an unknown member field', { split: [{ version: 1, weight: 1, alias: 'a' }] }, 'split[0]'],
    ['a header that is no token', { split: [member(1)], sticky: { header: 'x user' } }, 'sticky.header'],
    ['an empty header', { split: [member(1)], sticky: { header: '' } }, 'sticky.header'],
    ['a reserved header', { split: [member(1)], sticky: { header: 'Authorization' } }, 'reserved'],
    ['the cookie header', { split: [member(1)], sticky: { header: 'cookie' } }, 'reserved'],
  ] as [string, unknown, string][]) {
    it(`refuses ${why} (400 naming it)`, () => {
      assert.throws(
        () => readTrafficPolicy(body),
        (error: Error) => error instanceof InvalidInputError && error.message.includes(names),
      );
    });
  }
});

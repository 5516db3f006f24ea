import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyRollup, mergeRollup, minuteOf, observe, type RollupObservation } from './traffic-rollup';

const key = { model: 'iris', version: 2, role: 'shadow' as const, minute: 100 };
const at = new Date(100 * 60_000 + 5);
const run = (over: Partial<RollupObservation>): RollupObservation => ({
  model: 'iris',
  version: 2,
  role: 'shadow',
  status: 'ok',
  latencyMs: 1,
  agrees: null,
  maxRelDiff: null,
  at,
  ...over,
});

describe('traffic rollups', () => {
  it('count requests, errors, drops, agreement and relative differences; latency of answered runs only', () => {
    const rollup = emptyRollup(key);
    observe(rollup, run({ agrees: true, maxRelDiff: 0.5, latencyMs: 2 }));
    observe(rollup, run({ agrees: false, maxRelDiff: 0.25, latencyMs: 4 }));
    observe(rollup, run({ status: 'dropped', latencyMs: 1000 }));
    observe(rollup, run({ status: 'invalid', latencyMs: 2000 }));
    assert.deepEqual(
      { ...rollup, latency: undefined },
      {
        ...key,
        requests: 4,
        errors: 1,
        dropped: 1,
        compared: 2,
        agreed: 1,
        diffs: 2,
        diffSum: 0.75,
        diffMax: 0.5,
        latency: undefined,
      },
    );
    assert.equal(rollup.latency.total, 2);
    assert.equal(rollup.latency.max, 4);
    assert.equal(minuteOf(at), 100);
  });

  it('merge adds counts and keeps the larger max, with null for none on either side', () => {
    const a = emptyRollup(key);
    const b = emptyRollup(key);
    observe(a, run({ maxRelDiff: 0.1, latencyMs: 3 }));
    observe(b, run({ status: 'dropped' }));
    const into = emptyRollup(key);
    mergeRollup(into, b);
    assert.equal(into.diffMax, null);
    mergeRollup(into, a);
    mergeRollup(into, b);
    assert.deepEqual([into.requests, into.dropped, into.diffs, into.diffMax, into.latency.total], [3, 2, 1, 0.1, 1]);
  });
});

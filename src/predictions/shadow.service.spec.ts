import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../test/support/prng';
import { strictFake } from '../../test/support/strict-fake';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../metrics/metrics.service';
import type { ServableVersion } from '../models/servable-version';
import type { ServableVersionsService } from '../models/servable-versions.service';
import type { TrafficPolicy } from '../models/traffic-policy';
import type { PredictionLogService } from './prediction-log.service';
import { ShadowService } from './shadow.service';

const REQUESTS = 10_000;

/** pick() touches none of its collaborators: each is a strict fake with no members. */
const service = new ShadowService(
  strictFake<AppConfig>('config', {}),
  strictFake<ServableVersionsService>('versions', {}),
  strictFake<PredictionLogService>('log', {}),
  strictFake<MetricsService>('metrics', {}),
);

const servedWith = (traffic: TrafficPolicy | null) => ({ traffic }) as ServableVersion;
const policy = (percent: number): TrafficPolicy => ({
  split: [{ version: 1, weight: 1 }],
  sticky: null,
  shadow: { version: 2, percent },
});

describe('ShadowService.pick', () => {
  for (const percent of [5, 50, 100]) {
    it(`mirrors ${percent}% of ${REQUESTS} requests naming no version, within ±2 percentage points`, () => {
      const random = prng(percent);
      let mirrored = 0;
      for (let i = 0; i < REQUESTS; i++) if (service.pick(servedWith(policy(percent)), undefined, random)) mirrored++;
      assert.ok(Math.abs((mirrored / REQUESTS) * 100 - percent) <= 2, `${mirrored} of ${REQUESTS}`);
    });
  }

  it('never mirrors a request naming a version, an alias or latest, nor without a shadow, nor at 0%', () => {
    const always = () => 0;
    for (const named of [1, 'champion', 'latest'])
      assert.equal(service.pick(servedWith(policy(100)), named, always), undefined);
    assert.equal(service.pick(servedWith(null), undefined, always), undefined);
    assert.equal(service.pick(servedWith({ split: [], sticky: null }), undefined, always), undefined);
    assert.equal(service.pick(servedWith(policy(0)), undefined, always), undefined);
    assert.deepEqual(service.pick(servedWith(policy(100)), undefined, always), { version: 2, percent: 100 });
  });
});

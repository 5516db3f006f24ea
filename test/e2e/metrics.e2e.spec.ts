import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferenceService } from '../../src/inference/inference.service';
import { createKey } from '../support/audit-helpers';
import { TEST_METRICS_TOKEN } from '../support/auth-helpers';
import {
  bucketIncrease,
  histogramBuckets,
  histogramQuantile,
  parseSamples,
  sampleValue,
} from '../support/metrics-text';
import { mlpModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { expectPrediction, httpOf, matrix, modelWithVersion, predictReply } from '../support/prediction-cache-helpers';
import { authed, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * /metrics on prom-client (issue 10): predictions counted by model, status and cache outcome,
 * answered or not, without a label value a client chooses; stage durations as histograms; the
 * engine's batches and restarts; and no scrape resetting what another scraper sees.
 */

const PREDICTIONS = 'modelforge_predictions_total';
const DURATION = 'modelforge_prediction_duration_seconds';
const LOOP_DELAY = 'modelforge_event_loop_delay_seconds';
const NO_CACHE = { 'Cache-Control': 'no-cache' };
const MISS_STAGES = ['receive', 'parse', 'resolve', 'validate', 'queue', 'inference', 'encode', 'total'];

/** Keeps the thread busy, as a synchronous task on the HTTP thread would (the app runs in this process). */
function blockThread(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('histogramQuantile (test support)', () => {
  it('interpolates within the bucket as Prometheus does', () => {
    const buckets = new Map([
      [0.01, 50],
      [0.02, 90],
      [0.05, 100],
      [Infinity, 100],
    ]);
    assert.equal(histogramQuantile(0.5, buckets), 0.01);
    assert.ok(Math.abs(histogramQuantile(0.7, buckets) - 0.015) < 1e-12);
    assert.equal(histogramQuantile(0.99, buckets), 0.047);
    assert.equal(histogramQuantile(1, new Map([...buckets, [Infinity, 120]])), 0.05, 'a rank in +Inf');
    assert.ok(Number.isNaN(histogramQuantile(0.5, new Map([[Infinity, 0]]))));
  });
});

for (const engine of testEngines()) {
  describe(`metrics on ${engine}`, () => {
    let t: TestApp;
    const http = httpOf(() => t);
    const scrape = async (credential?: string) => (await authed(t, credential).get('/metrics').expect(200)).text;
    const predictions = (text: string, model: string, status: string, cache: string) =>
      sampleValue(text, PREDICTIONS, { model, status, cache }) ?? 0;
    const stageCount = (text: string, model: string, stage: string) =>
      sampleValue(text, `${DURATION}_count`, { model, stage }) ?? 0;
    const body = (seed: number, model = 'mlp') => ({ model, inputs: { x: matrix(2, 4, seed) } });

    before(async () => {
      t = await startTestApp(engine, { env: { METRICS_TOKEN: TEST_METRICS_TOKEN, SHUTDOWN_GRACE_MS: '1000' } });
      await modelWithVersion(http, 'mlp', mlpModel());
    });
    after(() => t?.close());

    it('is Prometheus text of counters, gauges and histograms only, all prefixed', async () => {
      const res = await authed(t).get('/metrics').expect(200);
      assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const types = [...res.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)];
      assert.ok(types.length > 20);
      for (const [, name, type] of types) {
        assert.match(name, /^modelforge_/);
        assert.ok(['counter', 'gauge', 'histogram'].includes(type), `${name} is a ${type}`);
      }
      for (const sample of parseSamples(res.text)) assert.ok(!Number.isNaN(sample.value), sample.name);
      assert.doesNotMatch(res.text, /eventloop_lag/, 'prom-client event-loop gauges reset at each scrape');
      for (const name of [
        'modelforge_process_resident_memory_bytes',
        'modelforge_process_cpu_seconds_total',
        'modelforge_nodejs_heap_size_used_bytes',
        'modelforge_inference_workers_alive',
        'modelforge_http_inflight_body_bytes',
      ]) {
        assert.ok(sampleValue(res.text, name) !== undefined, name);
      }
      assert.ok(histogramBuckets(res.text, LOOP_DELAY).size > 10);
    });

    it('counts an answered prediction by model, status and cache outcome, with every stage timed', async () => {
      const before = await scrape();
      await expectPrediction(http, body(1), 'BYPASS', NO_CACHE);
      const after = await scrape();
      assert.equal(predictions(after, 'mlp', '200', 'BYPASS') - predictions(before, 'mlp', '200', 'BYPASS'), 1);
      for (const stage of MISS_STAGES) {
        assert.equal(stageCount(after, 'mlp', stage) - stageCount(before, 'mlp', stage), 1, stage);
        const buckets = histogramBuckets(after, DURATION, { model: 'mlp', stage });
        assert.equal(buckets.size, 18, `${stage}: 17 bounds and +Inf`);
        assert.equal(buckets.get(Infinity), stageCount(after, 'mlp', stage));
      }
      const total = histogramBuckets(after, DURATION, { model: 'mlp', stage: 'total' });
      assert.ok((total.get(30) ?? 0) >= 1, 'the prediction took less than 30 s');
    });

    it('tells a cache miss from a hit, whose stages are the cache lookup', async () => {
      const before = await scrape();
      await expectPrediction(http, body(2), 'MISS');
      await expectPrediction(http, body(2), 'HIT');
      const after = await scrape();
      const increase = (status: string, cache: string) =>
        predictions(after, 'mlp', status, cache) - predictions(before, 'mlp', status, cache);
      assert.equal(increase('200', 'MISS'), 1);
      assert.equal(increase('200', 'HIT'), 1);
      assert.equal(stageCount(after, 'mlp', 'cache') - stageCount(before, 'mlp', 'cache'), 1, 'the hit');
      assert.equal(stageCount(after, 'mlp', 'inference') - stageCount(before, 'mlp', 'inference'), 1, 'the miss');
      assert.equal(stageCount(after, 'mlp', 'total') - stageCount(before, 'mlp', 'total'), 2);
    });

    it('counts failures: the model label only once the model resolved, never a name the client chose', async () => {
      const scoped = await createKey(t, { name: 'metrics-scoped', role: 'predictor', models: ['other-*'] });
      const before = await scrape();
      const chosen = 'no-such-model-a1b2c3';
      assert.equal((await predictReply(http, body(3, chosen), NO_CACHE)).status, 404);
      assert.equal((await predictReply(http, '{"model": "mlp", "inputs": ', NO_CACHE)).status, 400);
      assert.equal((await predictReply(http, { model: 'mlp', version: 99, inputs: {} }, NO_CACHE)).status, 404);
      assert.equal((await predictReply(() => authed(t, scoped.key), body(3), NO_CACHE)).status, 403);
      const wrongShape = { model: 'mlp', inputs: { x: matrix(2, 5, 3) } };
      assert.equal((await predictReply(http, wrongShape, NO_CACHE)).status, 400);
      const after = await scrape();
      const increase = (model: string, status: string) =>
        predictions(after, model, status, 'none') - predictions(before, model, status, 'none');
      assert.equal(increase('_unknown', '404'), 2, 'an unknown model and an unknown version');
      assert.equal(increase('_unknown', '400'), 1, 'a body that is not JSON');
      assert.equal(increase('_unknown', '403'), 1, 'a model outside the key scope, existing or not');
      assert.equal(increase('mlp', '400'), 1, 'inputs that do not fit a model that resolved');
      assert.ok(!after.includes(chosen), 'the name the client sent is nowhere in /metrics');
      for (const sample of parseSamples(after).filter((s) => s.name === PREDICTIONS)) {
        assert.ok(['mlp', '_unknown'].includes(sample.labels.model), sample.labels.model);
      }
      assert.equal(stageCount(after, '_unknown', 'total'), 0, 'durations are of answered predictions');
    });

    it('shows the batches and process restarts the engine reports', async () => {
      const events = t.app.get(InferenceService).events;
      const before = await scrape();
      events.emit('batch', { model: 'mlp', size: 6 });
      events.emit('batch', { model: 'mlp', size: 1 });
      events.emit('restart', { reason: 'memory' });
      const after = await scrape();
      const sizes = bucketIncrease(
        histogramBuckets(before, 'modelforge_inference_batch_size', { model: 'mlp' }),
        histogramBuckets(after, 'modelforge_inference_batch_size', { model: 'mlp' }),
      );
      assert.equal(sizes.get(1), 1);
      assert.equal(sizes.get(4), 1);
      assert.equal(sizes.get(8), 2);
      const restarts = (text: string, reason: string) =>
        sampleValue(text, 'modelforge_inference_process_restarts_total', { reason }) ?? NaN;
      assert.equal(restarts(after, 'memory') - restarts(before, 'memory'), 1);
      assert.equal(restarts(after, 'crash'), restarts(before, 'crash'));
    });

    it('resets nothing on a scrape: two scrapers each see every prediction and the same stall', async () => {
      const scraperA = () => scrape();
      const scraperB = () => scrape(TEST_METRICS_TOKEN);
      const a1 = await scraperA();
      const b1 = await scraperB();
      await expectPrediction(http, body(4), 'BYPASS', NO_CACHE);
      blockThread(150);
      /** Event-loop delay samples over 100 ms between two scrapes. */
      const stalls = (from: string, to: string) => {
        const increase = bucketIncrease(histogramBuckets(from, LOOP_DELAY), histogramBuckets(to, LOOP_DELAY));
        return (increase.get(Infinity) ?? 0) - (increase.get(0.1) ?? 0);
      };
      // The 10 ms sampler records the stall as soon as the thread is free again.
      const a2 = await waitFor(
        async () => {
          const text = await scraperA();
          return stalls(a1, text) > 0 ? text : undefined;
        },
        { what: 'the stall in scraper A' },
      );
      const aAgain = await scraperA(); // a scrape that would have stolen B's window
      const b2 = await scraperB();
      for (const [what, from, to] of [
        ['A', a1, a2],
        ['B', b1, b2],
      ]) {
        assert.ok(stalls(from, to) >= 1, `scraper ${what} sees the stall over 100 ms`);
        assert.equal(
          predictions(to, 'mlp', '200', 'BYPASS') - predictions(from, 'mlp', '200', 'BYPASS'),
          1,
          `scraper ${what} sees the prediction`,
        );
        assert.equal(stageCount(to, 'mlp', 'total') - stageCount(from, 'mlp', 'total'), 1);
      }
      assert.ok(stalls(a1, aAgain) >= 1, 'and A still does on its next scrape');
    });
  });
}

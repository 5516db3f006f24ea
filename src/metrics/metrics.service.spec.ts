import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { histogramBuckets, sampleValue } from '../../test/support/metrics-text';
import { waitFor } from '../../test/support/wait-for';
import { MetricsService } from './metrics.service';

/** Keeps the thread busy, as a synchronous task on the HTTP thread would. */
function blockThread(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('metrics service', () => {
  const metrics = new MetricsService();
  after(() => metrics.onModuleDestroy());

  it('has the default process metrics, prefixed, on its own registry (not prom-client global one)', async () => {
    const other = new MetricsService(); // a second app in the same process: no name collision
    other.onModuleDestroy();
    const text = await metrics.render();
    assert.ok((sampleValue(text, 'modelforge_process_resident_memory_bytes') ?? 0) > 0);
    assert.ok((sampleValue(text, 'modelforge_nodejs_heap_size_used_bytes') ?? 0) > 0);
    assert.match(text, /^modelforge_process_cpu_seconds_total \d/m);
    assert.match(text, /^# TYPE modelforge_event_loop_delay_seconds histogram$/m);
    assert.doesNotMatch(text, /eventloop_lag/, 'prom-client event-loop gauges reset at each scrape');
    assert.equal(globalRegistry.getMetricsAsArray().length, 0);
  });

  it('keeps increment() as a counter named at the call, by label set', async () => {
    metrics.increment('things_total', 'Things', { kind: 'a' });
    metrics.increment('things_total', 'Things', { kind: 'a' }, 4);
    metrics.increment('things_total', 'Things', { kind: 'b' });
    metrics.increment('plain_total', 'Plain');
    const text = await metrics.render();
    assert.match(text, /^# TYPE modelforge_things_total counter$/m);
    assert.equal(sampleValue(text, 'modelforge_things_total', { kind: 'a' }), 5);
    assert.equal(sampleValue(text, 'modelforge_things_total', { kind: 'b' }), 1);
    assert.equal(sampleValue(text, 'modelforge_plain_total'), 1);
  });

  it('reads registered gauges at each scrape, leaving out a source that fails or does not answer', async () => {
    const service = new MetricsService();
    after(() => service.onModuleDestroy());
    let depth = 3;
    service.registerGauges(() => [
      { name: 'queue_depth_test', help: 'Depth', value: depth },
      { name: 'queue_by_kind_test', help: 'By kind', value: 1, labels: { kind: 'x' } },
      { name: 'queue_by_kind_test', help: 'By kind', value: 2, labels: { kind: 'y' } },
    ]);
    service.registerGauges(() => Promise.reject(new Error('store down')));
    service.registerGauges(() => new Promise(() => undefined));
    service.registerGauges(() => [{ name: 'hung_test', help: 'Never', value: 1 }]);
    let text = await service.render();
    assert.equal(sampleValue(text, 'modelforge_queue_depth_test'), 3);
    assert.equal(sampleValue(text, 'modelforge_queue_by_kind_test', { kind: 'y' }), 2);
    assert.equal(sampleValue(text, 'modelforge_hung_test'), 1);
    depth = 7;
    text = await service.render();
    assert.equal(sampleValue(text, 'modelforge_queue_depth_test'), 7);
  });

  it('never resets on a scrape: two scrapers both see a stall of the event loop', async () => {
    const scrapeA1 = histogramBuckets(await metrics.render(), 'modelforge_event_loop_delay_seconds');
    const scrapeB1 = histogramBuckets(await metrics.render(), 'modelforge_event_loop_delay_seconds');
    blockThread(150);
    // The 10 ms sampler records the stall as soon as the thread is free again.
    const scrapeA2 = await waitFor(
      async () => {
        const buckets = histogramBuckets(await metrics.render(), 'modelforge_event_loop_delay_seconds');
        return stalls(scrapeA1, buckets) > 0 ? buckets : undefined;
      },
      { what: 'the stall in the event-loop delay histogram' },
    );
    const scrapeB2 = histogramBuckets(await metrics.render(), 'modelforge_event_loop_delay_seconds');
    assert.equal(stalls(scrapeA1, scrapeA2), 1, 'scraper A sees the stall');
    assert.equal(stalls(scrapeB1, scrapeB2), 1, 'scraper B still sees it after A scraped');
  });
});

/** Samples above 100 ms between two scrapes. */
function stalls(before: Map<number, number>, after: Map<number, number>): number {
  const over = (buckets: Map<number, number>) => (buckets.get(Infinity) ?? 0) - (buckets.get(0.1) ?? 0);
  return over(after) - over(before);
}

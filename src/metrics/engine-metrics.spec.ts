import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, describe, it } from 'node:test';
import { histogramBuckets, sampleValue } from '../../test/support/metrics-text';
import type { EngineEvents, EngineStatus, InferenceService } from '../inference/inference.service';
import { EngineMetrics } from './engine-metrics';
import { MetricsService } from './metrics.service';

/**
 * The engine's side of /metrics against its public surface only: an engine whose status() the
 * test sets, and its events emitter. Any other call on it fails (the fake has nothing else).
 */
class FakeEngine {
  readonly events = new EventEmitter<EngineEvents>();
  current: EngineStatus = {
    workers: 2,
    alive: 2,
    restarts: 0,
    intraOpThreads: 1,
    loadedVersions: 1,
    loadedBytes: 4096,
    inFlight: 0,
    queueDepth: {},
    queued: 0,
    processes: [],
  };

  status(): EngineStatus {
    return this.current;
  }
}

describe('engine metrics', () => {
  const engine = new FakeEngine();
  const metrics = new MetricsService();
  const engineMetrics = new EngineMetrics(engine as unknown as InferenceService, metrics);
  after(() => {
    engineMetrics.onModuleDestroy();
    metrics.onModuleDestroy();
  });

  it('reads queue depth per model at each scrape, and keeps a drained model at 0', async () => {
    engine.current = { ...engine.current, queueDepth: { mlp: 3, cnn: 1 } };
    let text = await metrics.render();
    assert.equal(sampleValue(text, 'modelforge_inference_queue_depth', { model: 'mlp' }), 3);
    assert.equal(sampleValue(text, 'modelforge_inference_queue_depth', { model: 'cnn' }), 1);
    engine.current = { ...engine.current, queueDepth: { cnn: 5 } };
    text = await metrics.render();
    assert.equal(sampleValue(text, 'modelforge_inference_queue_depth', { model: 'mlp' }), 0);
    assert.equal(sampleValue(text, 'modelforge_inference_queue_depth', { model: 'cnn' }), 5);
  });

  it('reports the resident memory of each process by index, only while known', async () => {
    engine.current = {
      ...engine.current,
      processes: [
        { index: 0, pid: 101, rssBytes: 50_000_000 },
        { index: 1, pid: 102 },
      ],
    };
    let text = await metrics.render();
    const rss = (index: string) =>
      sampleValue(text, 'modelforge_inference_process_resident_memory_bytes', { process: index });
    assert.equal(rss('0'), 50_000_000);
    assert.equal(rss('1'), undefined, 'no series before its first measurement');
    engine.current = { ...engine.current, processes: [{ index: 1, pid: 103, rssBytes: 60_000_000 }] };
    text = await metrics.render();
    assert.equal(rss('0'), undefined, 'a process that is gone has no series');
    assert.equal(rss('1'), 60_000_000, 'a replacement keeps its index: the pid is never a label');
  });

  it('counts restarts by reason, every reason from 0', async () => {
    const restarts = (text: string, reason: string) =>
      sampleValue(text, 'modelforge_inference_process_restarts_total', { reason });
    const before = await metrics.render();
    for (const reason of ['crash', 'timeout', 'memory', 'recycle']) assert.equal(restarts(before, reason), 0);
    engine.events.emit('restart', { reason: 'timeout' });
    engine.events.emit('restart', { reason: 'timeout' });
    engine.events.emit('restart', { reason: 'crash' });
    const text = await metrics.render();
    assert.equal(restarts(text, 'timeout'), 2);
    assert.equal(restarts(text, 'crash'), 1);
    assert.equal(restarts(text, 'memory'), 0);
  });

  it('puts batch sizes in a histogram per model', async () => {
    for (const size of [1, 3, 3, 8]) engine.events.emit('batch', { model: 'mlp', size });
    const text = await metrics.render();
    const buckets = histogramBuckets(text, 'modelforge_inference_batch_size', { model: 'mlp' });
    assert.deepEqual(
      [...buckets],
      [
        [1, 1],
        [2, 1],
        [4, 3],
        [8, 4],
        [16, 4],
        [32, 4],
        [64, 4],
        [128, 4],
        [256, 4],
        [Infinity, 4],
      ],
    );
    assert.equal(sampleValue(text, 'modelforge_inference_batch_size_sum', { model: 'mlp' }), 15);
  });

  it('stops listening to the engine when the module is destroyed', async () => {
    const other = new MetricsService();
    const detached = new EngineMetrics(engine as unknown as InferenceService, other);
    detached.onModuleDestroy();
    other.onModuleDestroy();
    engine.events.emit('batch', { model: 'cnn', size: 2 });
    const text = await other.render();
    assert.equal(sampleValue(text, 'modelforge_inference_batch_size_count', { model: 'cnn' }), undefined);
    assert.equal(engine.events.listenerCount('batch'), 1, 'only the EngineMetrics of this suite listens');
  });

  it('shows the engine gauges', async () => {
    engine.current = { ...engine.current, alive: 1, inFlight: 4 };
    const text = await metrics.render();
    assert.equal(sampleValue(text, 'modelforge_inference_workers'), 2);
    assert.equal(sampleValue(text, 'modelforge_inference_workers_alive'), 1);
    assert.equal(sampleValue(text, 'modelforge_inference_in_flight'), 4);
    assert.equal(sampleValue(text, 'modelforge_inference_loaded_bytes'), 4096);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PredictionEntity } from '../../src/predictions/entities/prediction.entity';
import { TrafficRollupEntity } from '../../src/predictions/entities/traffic-rollup.entity';
import type { TrafficSeriesDto, TrafficStatsDto } from '../../src/predictions/dto/traffic-stats.dto';
import { PredictionLogService } from '../../src/predictions/prediction-log.service';
import { minuteOf } from '../../src/predictions/traffic-rollup';
import {
  MAX_PENDING_ROLLUPS,
  ROLLUP_RETENTION_MINUTES,
  TrafficRollupService,
} from '../../src/predictions/traffic-rollup.service';
import { MetricsService } from '../../src/metrics/metrics.service';
import { createKey } from '../support/audit-helpers';
import { sampleValue } from '../support/metrics-text';
import { mlpModel } from '../support/onnx-models';
import {
  createModel,
  Http,
  predictReply,
  twoReplicas,
  uniqueModelName,
  uploadVersion,
} from '../support/prediction-cache-helpers';
import { testEngines } from '../support/postgres';
import { prng } from '../support/prng';
import { authed, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * Traffic stats from the per-minute rollups: every request is counted whatever the log's sampling,
 * this replica's unflushed minutes are counted once (before and after a flush), and replicas
 * sharing PostgreSQL add into the same rows.
 */

const NO_CACHE = { 'Cache-Control': 'no-cache' };

function inputOf(random: () => number): number[][] {
  return [Array.from({ length: 4 }, () => random() * 8 - 4)];
}

const stats = async (http: Http, model: string): Promise<TrafficStatsDto> =>
  (await http().get(`/api/v1/models/${model}/traffic/stats?minutes=5`).expect(200)).body as TrafficStatsDto;

/** `count` answered predictions of version 1 and `failed` that fail (an input of the wrong width). */
async function traffic(http: Http, model: string, count: number, failed: number, seed: number): Promise<void> {
  const random = prng(seed);
  for (let i = 0; i < count; i++) {
    const reply = await predictReply(http, { model, inputs: { x: inputOf(random) } }, NO_CACHE);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  }
  for (let i = 0; i < failed; i++) {
    const reply = await predictReply(http, { model, version: 1, inputs: { x: [[1, 2, 3]] } }, NO_CACHE);
    assert.equal(reply.status, 400, JSON.stringify(reply.body));
  }
}

function served(body: TrafficStatsDto) {
  return body.versions.map(({ version, requests, errors, latencyMs }) => ({
    version,
    requests,
    errors,
    sample: latencyMs?.sample,
  }));
}

for (const engine of testEngines()) {
  describe(`traffic rollups on ${engine}`, () => {
    let t: TestApp;
    const http: Http = () => authed(t);
    const rollups = () => t.app.get(TrafficRollupService);
    const tableRows = (model: string) => t.dataSource.getRepository(TrafficRollupEntity).findBy({ model });

    before(async () => {
      // Nothing is logged, and nothing is flushed but by the tests.
      t = await startTestApp(engine, {
        env: { PREDICTION_LOG_SAMPLE_RATE: '0', PREDICTION_LOG_FLUSH_MS: '600000' },
      });
    });
    after(async () => {
      await t?.close();
    });

    it('with PREDICTION_LOG_SAMPLE_RATE=0 every request is counted, once, before and after each flush', async () => {
      const model = 'unlogged';
      await createModel(http, model);
      await uploadVersion(http, model, mlpModel(), 1);
      await traffic(http, model, 6, 2, 1);
      const expected = [{ version: 1, requests: 8, errors: 2, sample: 6 }];
      assert.deepEqual(served(await stats(http, model)), expected, 'from memory');
      await t.app.get(PredictionLogService).flush();
      assert.equal(await t.dataSource.getRepository(PredictionEntity).countBy({ model }), 0, 'no row was logged');

      assert.equal((await tableRows(model)).length, 0);
      await rollups().flush();
      const rows = await tableRows(model);
      assert.ok(rows.length >= 1);
      assert.equal(
        rows.reduce((sum, row) => sum + Number(row.requests), 0),
        8,
      );
      assert.deepEqual(served(await stats(http, model)), expected, 'from the table');

      // Part in the table, part in memory; then a stats call racing a flush counts each once.
      await traffic(http, model, 3, 1, 2);
      const more = [{ version: 1, requests: 12, errors: 3, sample: 9 }];
      assert.deepEqual(served(await stats(http, model)), more, 'table and memory');
      const [, during] = await Promise.all([rollups().flush(), stats(http, model)]);
      assert.deepEqual(served(during), more, 'during a flush');
      assert.deepEqual(served(await stats(http, model)), more, 'after it');
      const latency = (await stats(http, model)).versions[0].latencyMs;
      assert.ok(latency && latency.p50 > 0 && latency.p50 <= latency.p95 && latency.p95 <= latency.p99);
    });

    it('a flush the database refuses keeps the counts in memory; the next one writes them', async () => {
      const model = 'refused';
      await createModel(http, model);
      await uploadVersion(http, model, mlpModel(), 1);
      await traffic(http, model, 3, 1, 9);
      await t.dataSource.query('ALTER TABLE traffic_rollups RENAME TO traffic_rollups_away');
      try {
        await rollups().flush(); // resolves: a timer's flush has no caller to tell
      } finally {
        await t.dataSource.query('ALTER TABLE traffic_rollups_away RENAME TO traffic_rollups');
      }
      assert.equal((await tableRows(model)).length, 0);
      const expected = [{ version: 1, requests: 4, errors: 1, sample: 3 }];
      assert.deepEqual(served(await stats(http, model)), expected, 'still counted, from memory');
      await rollups().flush();
      assert.equal(
        (await tableRows(model)).reduce((sum, row) => sum + Number(row.requests), 0),
        4,
      );
      assert.deepEqual(served(await stats(http, model)), expected, 'from the table, once');
    });

    it('at most MAX_PENDING_ROLLUPS keys wait in memory, and rows 3 flushes failed to write are dropped, counted', async () => {
      const metrics = t.app.get(MetricsService);
      const droppedSoFar = async () =>
        sampleValue(await metrics.render(), 'modelforge_traffic_rollup_dropped_total') ?? 0;
      const before = await droppedSoFar();
      // An instance of its own (no timers), on this app's table and metrics.
      const service = new TrafficRollupService(t.dataSource.getRepository(TrafficRollupEntity), t.config, metrics);
      const failed = (model: string) => ({
        model,
        version: 1,
        role: 'served' as const,
        status: 'not_found',
        latencyMs: 0,
        agrees: null,
        maxRelDiff: null,
        at: new Date(),
      });
      for (let i = 0; i < MAX_PENDING_ROLLUPS; i++) service.record(failed(`cap-${i}`));
      service.record(failed('cap-0')); // a key already waiting is still counted
      service.record(failed('cap-new'));
      assert.equal((await droppedSoFar()) - before, 1);
      const since = minuteOf(Date.now()) - 1;
      assert.deepEqual(
        (await service.window('cap-0', since)).map((r) => r.requests),
        [2],
      );
      assert.deepEqual(await service.window('cap-new', since), []);
      await t.dataSource.query('ALTER TABLE traffic_rollups RENAME TO traffic_rollups_away');
      try {
        for (let i = 0; i < 3; i++) await service.flush();
      } finally {
        await t.dataSource.query('ALTER TABLE traffic_rollups_away RENAME TO traffic_rollups');
      }
      assert.equal((await droppedSoFar()) - before, 1 + MAX_PENDING_ROLLUPS + 1);
      assert.deepEqual(await service.window('cap-0', since), [], 'no longer in memory');
    });

    it('deleting a model removes its rollups, in memory and in the table', async () => {
      const model = 'doomed';
      await createModel(http, model);
      await uploadVersion(http, model, mlpModel(), 1);
      await traffic(http, model, 2, 0, 3);
      await rollups().flush();
      await traffic(http, model, 1, 0, 4);
      assert.ok((await tableRows(model)).length >= 1);
      await http().delete(`/api/v1/models/${model}`).expect(204);
      await rollups().flush();
      assert.equal((await tableRows(model)).length, 0);
      await createModel(http, model);
      assert.deepEqual((await stats(http, model)).versions, [], 'a new model of the name starts empty');
    });

    it('GET /api/v1/stats/traffic sums served requests of every model per minute, in scope only', async () => {
      const rollupsOf = async (credential: string, query = '?minutes=10') =>
        (await authed(t, credential).get(`/api/v1/stats/traffic${query}`).expect(200)).body as TrafficSeriesDto;
      const both = await createKey(t, { name: 'series-both', role: 'viewer', models: ['series-*'] });
      const onlyA = await createKey(t, { name: 'series-a', role: 'viewer', models: ['series-a'] });
      for (const model of ['series-a', 'series-b']) {
        await createModel(http, model);
        await uploadVersion(http, model, mlpModel(), 1);
      }
      const start = minuteOf(Date.now());
      await traffic(http, 'series-a', 3, 1, 11);
      await traffic(http, 'series-b', 2, 2, 12);
      const end = minuteOf(Date.now());
      // Three minutes ago, in memory then in the table: a served request of each model and a shadow run.
      const at = new Date((start - 3) * 60_000 + 1_000);
      const observation = { version: 1, status: 'ok', latencyMs: 4, agrees: null, maxRelDiff: null, at };
      rollups().record({ ...observation, model: 'series-a', role: 'served' });
      rollups().record({ ...observation, model: 'series-b', role: 'served' });
      rollups().record({ ...observation, model: 'series-a', role: 'shadow' });

      const check = async (what: string) => {
        const body = await rollupsOf(both.key);
        assert.equal(body.minutes, 10);
        assert.equal(body.series.length, 11, 'every minute of the window, the current one included');
        assert.equal(body.since, body.series[0].minute);
        const first = Date.parse(body.since) / 60_000;
        assert.deepEqual(
          body.series.map((m, i) => Date.parse(m.minute) / 60_000 - i),
          body.series.map(() => first),
          'consecutive minutes',
        );
        const old = body.series[start - 3 - first];
        assert.deepEqual({ ...old, minute: undefined }, { minute: undefined, requests: 2, errors: 0, p50: 4, p99: 4 });
        // HTTP traffic: in the minutes it ran in; none elsewhere.
        const live = body.series.filter((_, i) => first + i >= start && first + i <= end);
        assert.equal(
          live.reduce((sum, m) => sum + m.requests, 0),
          8,
          what,
        );
        assert.equal(
          live.reduce((sum, m) => sum + m.errors, 0),
          3,
          what,
        );
        for (const m of live) if (m.requests > m.errors) assert.ok(m.p50 !== null && m.p99 !== null && m.p50 <= m.p99);
        const quiet = body.series.filter((_, i) => first + i !== start - 3 && (first + i < start || first + i > end));
        assert.deepEqual(
          new Set(quiet.map((m) => JSON.stringify({ ...m, minute: undefined }))),
          new Set([JSON.stringify({ requests: 0, errors: 0, p50: null, p99: null })]),
        );
        assert.equal(body.totals.requests, 10, what);
        assert.equal(body.totals.errors, 3, what);
        assert.equal(body.totals.latencyMs?.sample, 7, what);

        const a = await rollupsOf(onlyA.key);
        assert.equal(a.totals.requests, 4 + 1, `${what}: a key scoped to series-a sees its model only`);
        assert.equal(a.totals.errors, 1);
        const admin = await rollupsOf(t.adminKey);
        assert.ok(admin.totals.requests >= 10, 'an unscoped key sees every model');
      };
      await check('from memory');
      await rollups().flush();
      await check('from the table');

      const defaults = await rollupsOf(t.adminKey, '');
      assert.equal(defaults.minutes, 60);
      assert.equal(defaults.series.length, 61);
      for (const bad of ['0', '1441', '-1', '1.5', 'x', '']) {
        const res = await authed(t).get(`/api/v1/stats/traffic?minutes=${bad}`);
        assert.equal(res.status, 400, `minutes=${bad}: ${JSON.stringify(res.body)}`);
      }
      const predictor = await createKey(t, { name: 'series-predictor', role: 'predictor' });
      await authed(t, predictor.key).get('/api/v1/stats/traffic').expect(403);
    });

    it('retention deletes rows older than a day and an hour, and keeps the rest', async () => {
      const now = minuteOf(Date.now());
      const repo = t.dataSource.getRepository(TrafficRollupEntity);
      const row = (minute: number) => ({ model: 'aged', version: 1, role: 'served' as const, minute, requests: 1 });
      await repo.insert([row(now - ROLLUP_RETENTION_MINUTES - 1), row(now - ROLLUP_RETENTION_MINUTES + 1)]);
      assert.equal(await rollups().prune(), 1);
      assert.deepEqual(
        (await repo.findBy({ model: 'aged' })).map((r) => Number(r.minute)),
        [now - ROLLUP_RETENTION_MINUTES + 1],
      );
    });
  });
}

// Replicas need a database they can share: PostgreSQL (not run when TEST_POSTGRES=off, like every engine loop).
if (testEngines().includes('postgres'))
  describe('traffic rollups of two replicas sharing PostgreSQL', () => {
    let a: TestApp;
    let b: TestApp;
    const httpA: Http = () => authed(a);
    const httpB: Http = () => authed(b);

    before(async () => {
      [a, b] = await twoReplicas({ PREDICTION_LOG_SAMPLE_RATE: '0.5', PREDICTION_LOG_FLUSH_MS: '200' });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it("stats on either replica sum both replicas' requests once they flushed", async () => {
      const model = uniqueModelName('rollup');
      await createModel(httpA, model);
      await uploadVersion(httpA, model, mlpModel(), 1);
      await Promise.all([traffic(httpA, model, 10, 1, 5), traffic(httpB, model, 7, 2, 6)]);
      const expected = [{ version: 1, requests: 20, errors: 3, sample: 17 }];
      // Each replica sees the other's requests once that one's timer flushed them.
      for (const http of [httpA, httpB]) {
        await waitFor(async () => JSON.stringify(served(await stats(http, model))) === JSON.stringify(expected), {
          what: 'both replicas counted',
        });
      }
      // Both replicas adding into the same minute rows at once: counts and histograms add up.
      await Promise.all([traffic(httpA, model, 5, 0, 7), traffic(httpB, model, 5, 0, 8)]);
      await Promise.all([a.app.get(TrafficRollupService).flush(), b.app.get(TrafficRollupService).flush()]);
      const total = [{ version: 1, requests: 30, errors: 3, sample: 27 }];
      assert.deepEqual(served(await stats(httpA, model)), total);
      assert.deepEqual(served(await stats(httpB, model)), total);
      const rows = await a.dataSource.getRepository(TrafficRollupEntity).findBy({ model });
      assert.equal(
        rows.reduce((sum, row) => sum + Number(row.requests), 0),
        30,
        'the table holds every request',
      );
    });
  });

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AppConfig } from '../../src/config/app-config';
import { loadEnvironment } from '../../src/config/environment';
import { MetricsService } from '../../src/metrics/metrics.service';
import { PredictionEntity } from '../../src/predictions/entities/prediction.entity';
import { PredictionLogRow, PredictionLogService } from '../../src/predictions/prediction-log.service';
import { TrafficRollupService } from '../../src/predictions/traffic-rollup.service';
import { pairsModel } from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import {
  expectPrediction,
  httpOf,
  matrix,
  modelWithVersion,
  predict,
  predictReply,
  readMetric,
  uploadVersion,
} from '../support/prediction-cache-helpers';
import { capturingLogger, startTestApp, TestApp } from '../support/test-app';

/**
 * The prediction log (issue 4, items 7 and 8): rows for every prediction, written in batches off
 * the request path, queryable through GET /api/v1/predictions. The periodic flush is set far out;
 * tests call PredictionLogService.flush() where the timer would.
 */

const WRITTEN = 'modelforge_prediction_log_written_total';
const BATCHES = 'modelforge_prediction_log_batches_total';
const DROPPED = 'modelforge_prediction_log_dropped_total';

const DAY_MS = 24 * 3600 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHA256 = /^[0-9a-f]{64}$/;

interface LogItem {
  id: string;
  actor: string | null;
  model: string | null;
  version: number | null;
  status: string;
  statusCode: number;
  cached: boolean;
  latencyMs: number;
  inputHash: string | null;
  error: string | null;
  createdAt: string;
  role: string;
  servedId: string | null;
  agrees: boolean | null;
  maxRelDiff: number | null;
  inputs?: string;
  outputs?: string;
}

interface LogPage {
  items: LogItem[];
  total: number;
  skip: number;
  limit: number;
}

const LOG_FIELDS = [
  'actor',
  'agrees',
  'cached',
  'createdAt',
  'error',
  'id',
  'inputHash',
  'latencyMs',
  'maxRelDiff',
  'model',
  'protocol',
  'role',
  'servedId',
  'status',
  'statusCode',
  'version',
];

/** A row as PredictionResponseInterceptor would record it for a successful prediction. */
const okRow = (model: string, overrides: Partial<PredictionLogRow> = {}): PredictionLogRow => ({
  model,
  version: 1,
  status: 'ok',
  statusCode: 200,
  protocol: 'rest',
  cached: false,
  latencyMs: 1.5,
  inputHash: 'a'.repeat(64),
  error: null,
  inputs: null,
  outputs: null,
  actor: null,
  ...overrides,
});

for (const engine of testEngines()) {
  describe(`prediction log on ${engine}`, () => {
    let t: TestApp;
    const http = httpOf(() => t);
    const log = () => t.app.get(PredictionLogService);
    const flush = () => log().flush();
    const server = capturingLogger('warn');

    async function list(query: Record<string, string | number>): Promise<LogPage> {
      const res = await http().get('/api/v1/predictions').query(query);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as LogPage;
    }

    /** A PredictionLogService of this app's database and metrics, with its own configuration. */
    function logServiceWith(env: Record<string, string>): PredictionLogService {
      const config = new AppConfig(loadEnvironment({ NODE_ENV: 'test', ...env }));
      return new PredictionLogService(
        t.dataSource.getRepository(PredictionEntity),
        config,
        t.app.get(MetricsService),
        t.app.get(TrafficRollupService),
      );
    }

    before(async () => {
      t = await startTestApp(engine, {
        env: { SHUTDOWN_GRACE_MS: '1000', PREDICTION_LOG_FLUSH_MS: '600000' },
        logger: server.logger,
      });
      await modelWithVersion(http, 'plain', mlpModel());
    });
    after(async () => {
      await t?.close();
    });

    it('logs successful, cached and failed predictions with their fields', async () => {
      const started = Date.now();
      const x = matrix(2, 4, 1);
      const miss = await expectPrediction(http, { model: 'plain', inputs: { x } }, 'MISS');
      await expectPrediction(http, { model: 'plain', inputs: { x } }, 'HIT');
      await expectPrediction(http, { model: 'plain', inputs: { x: { shape: [2, 4], data: x.flat() } } }, 'HIT');
      const invalid = await predictReply(http, { model: 'plain', inputs: { x: [[1, 2, 3]] } });
      assert.equal(invalid.status, 400);
      const noModel = await predictReply(http, { model: 'nope', inputs: { x } });
      assert.equal(noModel.status, 404);
      const noVersion = await predictReply(http, { model: 'plain', version: 7, inputs: { x } });
      assert.equal(noVersion.status, 404);
      const broken = await predict(http, '{"model": "plain", "inputs": ');
      assert.equal(broken.status, 400);
      await flush();

      const page = await list({ model: 'plain', limit: 100 });
      assert.equal(page.total, 5, JSON.stringify(page.items.map((i) => i.status)));
      const ok = page.items.filter((i) => i.status === 'ok');
      assert.equal(ok.length, 3);
      // newest first: the two hits, then the miss
      assert.deepEqual(
        ok.map((i) => i.cached),
        [true, true, false],
      );
      for (const item of page.items) {
        assert.deepEqual(Object.keys(item).sort(), LOG_FIELDS, 'no payloads for a model that did not opt in');
        assert.match(item.id, UUID);
        assert.equal(item.model, 'plain');
        assert.equal(item.actor, 'admin-key', 'the credential that made it (ADMIN_API_KEY)');
        assert.deepEqual(
          [item.role, item.servedId, item.agrees, item.maxRelDiff],
          ['served', null, null, null],
          'a served row has no shadow fields',
        );
        assert.equal(typeof item.latencyMs, 'number');
        assert.ok(item.latencyMs >= 0 && item.latencyMs < 10_000, `latency ${item.latencyMs}`);
        const created = Date.parse(item.createdAt);
        assert.ok(created >= started - 1_000 && created <= Date.now() + 1_000, `createdAt ${item.createdAt}`);
      }
      for (const item of ok) {
        assert.equal(item.version, 1);
        assert.equal(item.statusCode, 200);
        assert.equal(item.error, null);
        assert.match(item.inputHash ?? '', SHA256);
      }
      assert.equal(ok[0].inputHash, ok[2].inputHash, 'a hit has the input hash of the entry');
      assert.equal(ok[1].inputHash, ok[2].inputHash, 'nested and flat forms of one tensor hash alike');
      assert.ok(ok[2].latencyMs > 0);
      assert.ok(miss.body.timing.totalMs >= 0);

      const invalidRow = page.items.find((i) => i.status === 'invalid');
      assert.ok(invalidRow, 'the 400 is logged');
      assert.equal(invalidRow.statusCode, 400);
      assert.equal(invalidRow.cached, false);
      assert.equal(invalidRow.inputHash, null);
      assert.ok(invalidRow.error && invalidRow.error.length > 0);
      assert.equal(invalidRow.error, invalid.body.message, 'the logged error is the message the client got');

      const notFound = page.items.find((i) => i.status === 'not_found');
      assert.ok(notFound, 'the unknown version is logged');
      assert.equal(notFound.statusCode, 404);
      assert.equal(notFound.version, 7);
      assert.equal(notFound.error, noVersion.body.message);

      const unknownModel = await list({ model: 'nope' });
      assert.equal(unknownModel.total, 1);
      assert.equal(unknownModel.items[0].status, 'not_found');
      assert.equal(unknownModel.items[0].statusCode, 404);
      assert.equal(unknownModel.items[0].version, null);
      assert.equal(unknownModel.items[0].error, noModel.body.message);
      assert.match(unknownModel.items[0].error ?? '', /nope/);

      // the body that is not JSON names no model
      const invalids = await list({ status: 'invalid', limit: 100 });
      const unnamed = invalids.items.filter((i) => i.model === null);
      assert.equal(unnamed.length, 1, JSON.stringify(invalids.items));
      assert.equal(unnamed[0].statusCode, 400);
      assert.equal(unnamed[0].version, null);
      assert.equal(unnamed[0].error, broken.body.message);
    });

    it('logs a prediction ONNX Runtime fails as inference_failed with a safe message; its raw text is in the server log only', async () => {
      await modelWithVersion(http, 'pairs', pairsModel());
      const res = await predict(http, { model: 'pairs', inputs: { x: [[1, 2, 3]] } });
      assert.equal(res.status, 400, res.text);
      const requestId = res.headers['x-request-id'] as string;
      const safe =
        "ONNX Runtime rejected the inputs at node 'Reshape_y' (Reshape); check their values and shapes against the model";
      assert.equal(res.body.message, safe);
      await flush();

      const [row] = (await list({ model: 'pairs' })).items;
      assert.equal(row.status, 'inference_failed');
      assert.equal(row.statusCode, 400);
      assert.equal(row.error, safe);
      for (const shown of [res.text, JSON.stringify(row)]) {
        assert.doesNotMatch(shown, /onnxruntime_src|onnxruntime::|\.h:\d+|was false/, 'no ONNX Runtime internals');
      }
      const logged = server.lines.find((line) => line.requestId === requestId && line.msg === 'prediction failed');
      assert.ok(logged, `a server log line for request ${requestId}`);
      assert.equal(logged.kind, 'inference_failed');
      assert.match(String(logged.err), /\/onnxruntime_src\/.*reshape_helper\.h.*cannot be reshaped/s);
    });

    it('filters by model, version and status, newest first, with pagination', async () => {
      await modelWithVersion(http, 'filters', mlpModel({ seed: 1 }));
      await uploadVersion(http, 'filters', mlpModel({ seed: 2 }), 2);
      for (let i = 0; i < 3; i++)
        await expectPrediction(http, { model: 'filters', version: 1, inputs: { x: matrix(1, 4, i) } }, 'MISS');
      for (let i = 0; i < 2; i++)
        await expectPrediction(http, { model: 'filters', inputs: { x: matrix(1, 4, i) } }, 'MISS');
      for (let i = 0; i < 2; i++) {
        const bad = await predictReply(http, { model: 'filters', version: 1, inputs: { x: [[i, 1]] } });
        assert.equal(bad.status, 400);
      }
      await flush();

      const all = await list({ model: 'filters', limit: 100 });
      assert.equal(all.total, 7);
      assert.equal(all.items.length, 7);
      const times = all.items.map((i) => Date.parse(i.createdAt));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first',
      );
      const count = async (query: Record<string, string | number>) =>
        (await list({ model: 'filters', ...query })).total;
      assert.equal(await count({ version: 1 }), 5);
      assert.equal(await count({ version: 2 }), 2);
      assert.equal(await count({ status: 'ok' }), 5);
      assert.equal(await count({ status: 'invalid' }), 2);
      assert.equal(await count({ version: 1, status: 'ok' }), 3);
      assert.equal(await count({ version: 2, status: 'invalid' }), 0);
      assert.equal(await count({ status: 'not_found' }), 0);
      const v2 = await list({ model: 'filters', version: 2 });
      assert.ok(v2.items.every((i) => i.version === 2 && i.model === 'filters'));
      const everything = await list({ limit: 100 });
      assert.ok(everything.total > all.total, 'without filters, other models are listed too');

      const seen = new Set<string>();
      for (const [skip, size] of [
        [0, 3],
        [3, 3],
        [6, 1],
      ]) {
        const page = await list({ model: 'filters', skip, limit: 3 });
        assert.equal(page.total, 7);
        assert.equal(page.skip, skip);
        assert.equal(page.limit, 3);
        assert.equal(page.items.length, size);
        assert.deepEqual(
          page.items.map((i) => i.id),
          all.items.slice(skip, skip + size).map((i) => i.id),
        );
        for (const item of page.items) seen.add(item.id);
      }
      assert.equal(seen.size, 7);
      const beyond = await list({ model: 'filters', skip: 50 });
      assert.deepEqual(beyond.items, []);
      assert.equal(beyond.total, 7);
      const defaults = await list({ model: 'filters' });
      assert.equal(defaults.skip, 0);
      assert.equal(defaults.limit, 20);

      for (const query of [
        { limit: 0 },
        { limit: 101 },
        { skip: -1 },
        { version: 'abc' },
        { version: 0 },
        { model: 'Bad Name' },
      ]) {
        const res = await http().get('/api/v1/predictions').query(query);
        assert.equal(res.status, 400, `${JSON.stringify(query)} answered ${res.status}`);
      }
    });

    it('GET /api/v1/predictions/{id}: one row, 404 for an unknown id, 400 for a non-uuid', async () => {
      const [item] = (await list({ model: 'plain', status: 'ok', limit: 1 })).items;
      const res = await http().get(`/api/v1/predictions/${item.id}`).expect(200);
      assert.deepEqual(res.body, item);
      const missing = await http().get(`/api/v1/predictions/${randomUUID()}`).expect(404);
      assert.equal(missing.body.statusCode, 404);
      assert.ok(missing.body.message);
      await http().get('/api/v1/predictions/not-a-uuid').expect(400);
      await http().get('/api/v1/predictions/12345').expect(400);
    });

    it('keeps inputs and outputs only for models that opted in (POST)', async () => {
      await modelWithVersion(http, 'payloads', mlpModel(), { logPayloads: true });
      const body = { model: 'payloads', inputs: { x: matrix(2, 4, 3) } };
      const miss = await expectPrediction(http, body, 'MISS');
      await expectPrediction(http, body, 'HIT');
      await flush();
      const page = await list({ model: 'payloads' });
      assert.equal(page.total, 2);
      for (const item of page.items) {
        assert.equal(typeof item.inputs, 'string', `${item.cached ? 'hit' : 'miss'} row lacks inputs`);
        assert.equal(typeof item.outputs, 'string');
        assert.deepEqual(JSON.parse(item.inputs as string), body);
        assert.deepEqual(JSON.parse(item.outputs as string), miss.body.outputs);
      }
      const one = await http().get(`/api/v1/predictions/${page.items[0].id}`).expect(200);
      assert.equal(one.body.inputs, page.items[0].inputs);
      assert.equal(one.body.outputs, page.items[0].outputs);
    });

    it('PATCH logPayloads takes effect for the very next prediction, both ways', async () => {
      await modelWithVersion(http, 'patched', mlpModel());
      const body = (seed: number) => ({ model: 'patched', inputs: { x: matrix(1, 4, seed) } });
      await expectPrediction(http, body(1), 'MISS'); // before opting in
      await http().patch('/api/v1/models/patched').send({ logPayloads: true }).expect(200);
      await expectPrediction(http, body(2), 'MISS'); // opted in
      await http().patch('/api/v1/models/patched').send({ logPayloads: false }).expect(200);
      await expectPrediction(http, body(3), 'MISS'); // opted out again
      await flush();
      const items = (await list({ model: 'patched' })).items.reverse(); // oldest first
      assert.equal(items.length, 3);
      assert.equal(items[0].inputs, undefined, 'before opting in');
      assert.deepEqual(
        items[1].inputs && JSON.parse(items[1].inputs),
        body(2),
        'the prediction right after PATCH {logPayloads: true} must keep its inputs',
      );
      assert.equal(typeof items[1].outputs, 'string');
      assert.equal(items[2].inputs, undefined, 'the prediction right after PATCH {logPayloads: false} must not');
      assert.equal(items[2].outputs, undefined);
    });

    it('writes a burst of 10,000 rows in a few INSERT statements', async () => {
      const batchesBefore = await readMetric(http, BATCHES);
      const writtenBefore = await readMetric(http, WRITTEN);
      const service = log();
      for (let i = 0; i < 10_000; i++) service.record(okRow('burst', { latencyMs: i }));
      await flush();
      const batches = (await readMetric(http, BATCHES)) - batchesBefore;
      const written = (await readMetric(http, WRITTEN)) - writtenBefore;
      assert.equal(written, 10_000);
      assert.equal(batches, 20, 'PREDICTION_LOG_BATCH_SIZE is 500 by default');
      assert.equal((await list({ model: 'burst' })).total, 10_000);
    });

    it('predictions over HTTP are written together, not one INSERT each', async () => {
      await modelWithVersion(http, 'http-burst', mlpModel());
      const batchesBefore = await readMetric(http, BATCHES);
      for (let round = 0; round < 20; round++) {
        const replies = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            predictReply(http, { model: 'http-burst', inputs: { x: matrix(1, 4, round * 10 + i) } }),
          ),
        );
        assert.ok(replies.every((r) => r.status === 200));
      }
      await flush();
      assert.equal((await list({ model: 'http-burst' })).total, 200);
      assert.equal((await readMetric(http, BATCHES)) - batchesBefore, 1, '200 rows, one INSERT');
    });

    it('PREDICTION_LOG_SAMPLE_RATE=0 logs nothing; 0.5 about half', async () => {
      const none = logServiceWith({ PREDICTION_LOG_SAMPLE_RATE: '0' });
      for (let i = 0; i < 1_000; i++) none.record(okRow('sample-none'));
      await none.flush();
      assert.equal((await list({ model: 'sample-none' })).total, 0);

      const half = logServiceWith({ PREDICTION_LOG_SAMPLE_RATE: '0.5' });
      for (let i = 0; i < 2_000; i++) half.record(okRow('sample-half'));
      await half.flush();
      const kept = (await list({ model: 'sample-half' })).total;
      assert.ok(kept > 850 && kept < 1_150, `kept ${kept} of 2,000 at a rate of 0.5`);
    });

    it('drops (and counts) rows past PREDICTION_LOG_MAX_BUFFER', async () => {
      const droppedBefore = await readMetric(http, DROPPED);
      const small = logServiceWith({ PREDICTION_LOG_MAX_BUFFER: '10', PREDICTION_LOG_BATCH_SIZE: '100' });
      for (let i = 0; i < 15; i++) small.record(okRow('buffer'));
      await small.flush();
      assert.equal((await list({ model: 'buffer' })).total, 10);
      assert.equal((await readMetric(http, DROPPED)) - droppedBefore, 5);
    });

    it('deletes rows older than the retention period', async () => {
      const service = log();
      service.record(okRow('retention', { version: 31, createdAt: new Date(Date.now() - 31 * DAY_MS) }));
      service.record(okRow('retention', { version: 29, createdAt: new Date(Date.now() - 29 * DAY_MS) }));
      service.record(okRow('retention', { version: 1 }));
      await flush();
      const before = await list({ model: 'retention' });
      assert.equal(before.total, 3);
      const old = before.items.find((i) => i.version === 31);
      assert.ok(old);
      assert.ok(Date.parse(old.createdAt) < Date.now() - 30 * DAY_MS, `stored createdAt ${old.createdAt}`);

      assert.equal(await service.prune(), 1);
      const afterPrune = await list({ model: 'retention' });
      assert.deepEqual(afterPrune.items.map((i) => i.version).sort(), [1, 29]);
      await http().get(`/api/v1/predictions/${old.id}`).expect(404);
      assert.equal(await service.prune(), 0);
    });

    it('a database hiccup loses log rows, never predictions', async () => {
      await modelWithVersion(http, 'hiccup', mlpModel());
      await flush();
      const droppedBefore = await readMetric(http, DROPPED);
      await t.dataSource.query('ALTER TABLE predictions RENAME TO predictions_away');
      try {
        for (let i = 0; i < 12; i++) {
          await expectPrediction(http, { model: 'hiccup', inputs: { x: matrix(1, 4, i % 6) } }, i < 6 ? 'MISS' : 'HIT');
        }
        await flush();
        assert.equal((await readMetric(http, DROPPED)) - droppedBefore, 12);
      } finally {
        await t.dataSource.query('ALTER TABLE predictions_away RENAME TO predictions');
      }
      await expectPrediction(http, { model: 'hiccup', inputs: { x: matrix(1, 4, 99) } }, 'MISS');
      await flush();
      const page = await list({ model: 'hiccup' });
      assert.equal(page.total, 1, 'the rows of the hiccup are gone; the log works again');
      assert.equal((await readMetric(http, DROPPED)) - droppedBefore, 12);
    });
  });
}

describe('prediction log with PREDICTION_LOG_SAMPLE_RATE=0', () => {
  let t: TestApp;
  const http = httpOf(() => t);

  before(async () => {
    t = await startTestApp('sqlite', {
      env: { SHUTDOWN_GRACE_MS: '1000', PREDICTION_LOG_FLUSH_MS: '600000', PREDICTION_LOG_SAMPLE_RATE: '0' },
    });
  });
  after(async () => {
    await t?.close();
  });

  it('answers predictions and logs none of them', async () => {
    await modelWithVersion(http, 'unsampled', mlpModel());
    for (let i = 0; i < 5; i++)
      await expectPrediction(http, { model: 'unsampled', inputs: { x: matrix(1, 4, i) } }, 'MISS');
    const failed = await predictReply(http, { model: 'absent', inputs: { x: matrix(1, 4, 0) } });
    assert.equal(failed.status, 404);
    await t.app.get(PredictionLogService).flush();
    const res = await http().get('/api/v1/predictions').expect(200);
    assert.equal(res.body.total, 0);
    assert.equal(await readMetric(http, WRITTEN), 0);
    assert.equal(await readMetric(http, DROPPED), 0, 'unsampled rows are not drops');
  });
});

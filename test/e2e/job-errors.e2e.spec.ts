import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { JobRunnerService } from '../../src/jobs/job-runner.service';
import { JobStore } from '../../src/jobs/job-store';
import {
  allResults,
  client,
  JobBody,
  json,
  pairsModel,
  ResultItem,
  submitJob,
  uploadModel,
  waitForJob,
} from '../support/job-helpers';
import { constantOfShapeModel } from '../support/onnx-models';
import { testEngines } from '../support/postgres';
import { capturingLogger, startTestApp, TestApp } from '../support/test-app';

/**
 * What jobs store and show of a failure (issue 8, findings 8 and 13): a stable kind and a safe
 * message; ONNX Runtime's text, stacks and SQL stay in the server log under the job id.
 */
const OUTPUT_CAP = 1000;
const ORT_INTERNALS = /onnxruntime_src|onnxruntime::|\.h:\d+|was false|\bat \//;

for (const engine of testEngines()) {
  describe(`job errors on ${engine}: kinds, safe messages, internals in the server log`, () => {
    let t: TestApp;
    let http: ReturnType<typeof client>;
    const server = capturingLogger('warn');

    before(async () => {
      t = await startTestApp(engine, {
        listen: true,
        logger: server.logger,
        env: { SHUTDOWN_GRACE_MS: '2000', JOBS_ATTEMPTS: '1', MAX_OUTPUT_ELEMENTS: String(OUTPUT_CAP) },
      });
      http = client(t.baseUrl as string);
      await uploadModel(http, 'pairs', pairsModel());
      await uploadModel(http, 'grid', constantOfShapeModel());
    });
    after(async () => {
      await t?.close();
    });

    it('shows an instance ONNX Runtime rejects as inference_failed, without its raw text, which the log keeps', async () => {
      const instances = [[[1, 2]], [[1, 2, 3]], [[4, 5]]].map((x) => ({ inputs: { x } }));
      const { job } = await submitJob(http, { model: 'pairs', instances });
      const done = await waitForJob(http, job.id);
      assert.equal(done.status, 'completed');
      assert.equal(done.error, null);
      assert.equal(done.errorKind, null);
      const results = await allResults(http, job.id);
      assert.deepEqual(results[1], {
        index: 1,
        error:
          "ONNX Runtime rejected the inputs at node 'Reshape_y' (Reshape); check their values and shapes against the model",
        errorKind: 'inference_failed',
      });
      assert.doesNotMatch(JSON.stringify(results), ORT_INTERNALS);
      assert.deepEqual(results[2].outputs, { y: { dtype: 'float32', shape: [1, 2], data: [4, 5] } });

      const logged = server.lines.find((line) => line.jobId === job.id && line.msg === 'job instance failed');
      assert.ok(logged, 'a server log line names the job');
      assert.equal(logged.index, 1);
      assert.equal(logged.kind, 'inference_failed');
      assert.match(String(logged.err), /\/onnxruntime_src\/.*cannot be reshaped/s);
    });

    it('gives an instance whose outputs pass MAX_OUTPUT_ELEMENTS its own output_too_large error; the job goes on', async () => {
      const shapes = [
        [10, 100],
        [10, 101],
        [2, 3],
      ];
      const { job } = await submitJob(http, {
        model: 'grid',
        instances: shapes.map((shape) => ({ inputs: { shape } })),
      });
      const done = await waitForJob(http, job.id);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const results: ResultItem[] = await allResults(http, job.id);
      assert.deepEqual(results[0].outputs?.y.shape, [10, 100]);
      assert.deepEqual(results[1], {
        index: 1,
        error:
          `Output 'y' has shape [10, 101] (1010 elements), over MAX_OUTPUT_ELEMENTS (${OUTPUT_CAP}); ` +
          'ask for fewer outputs (outputs: [...]) or send smaller inputs',
        errorKind: 'output_too_large',
      });
      assert.deepEqual(results[2].outputs?.y, { dtype: 'float32', shape: [2, 3], data: [0, 0, 0, 0, 0, 0] });
    });

    it('fails a job on an unexpected error with kind internal and a message pointing to the log', async () => {
      // A stored instance the runner cannot read: decoding it throws a plain Error.
      const [version] = await t.dataSource.query(
        `SELECT v.id AS id, v.model_id AS model_id FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'pairs'`,
      );
      const stored = await t.app.get(JobStore).create(
        {
          modelId: version.model_id,
          modelVersionId: version.id,
          modelName: 'pairs',
          version: 1,
          total: 1,
          actor: 'admin-key',
        },
        Readable.from([{ header: '{"x":{"dtype":"complex64","dims":[1]}}', data: Buffer.alloc(0) }]),
      );
      const outcome = await t.app.get(JobRunnerService).runAttempt(stored.id);
      assert.equal(outcome.kind, 'failed');

      const job = await json<JobBody>(await http(`/api/v1/jobs/${stored.id}`), 200);
      assert.equal(job.status, 'failed');
      assert.equal(job.errorKind, 'internal');
      assert.equal(job.error, `Internal error; the server log has the details under job id ${stored.id}`);
      const logged = server.lines.find((line) => line.jobId === stored.id && line.msg === 'job failed');
      assert.ok(logged, 'a server log line names the job');
      assert.match(String(logged.err), /unsupported tensor x \(complex64\)/);
      assert.match(String(logged.err), /\n\s+at /, 'with its stack');
    });

    it('withholds the text of errors stored before kinds were (rows with raw internals)', async () => {
      const { job } = await submitJob(http, { model: 'pairs', instances: [{ inputs: { x: [[1, 2, 3]] } }] });
      await waitForJob(http, job.id);
      const raw = 'Non-zero status code ... /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/reshape_helper.h:84';
      await t.dataSource.query(`UPDATE jobs SET error = '${raw}', error_kind = NULL WHERE id = '${job.id}'`);
      await t.dataSource.query(`UPDATE job_results SET error = '${raw}', error_kind = NULL WHERE job_id = '${job.id}'`);
      const legacy = 'Recorded by an earlier version of the service; the text is withheld';
      const shown = await json<JobBody>(await http(`/api/v1/jobs/${job.id}`), 200);
      assert.equal(shown.error, legacy);
      assert.equal(shown.errorKind, 'internal');
      assert.deepEqual(await allResults(http, job.id), [{ index: 0, error: legacy, errorKind: 'internal' }]);
    });
  });
}

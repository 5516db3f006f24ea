import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferenceService } from '../../src/inference/inference.service';
import { holdModelLoads } from '../support/model-gate';
import { mlpModel } from '../support/onnx-models';
import { decodeInferResponse, encodeInferBody, valuesOf } from '../support/oip-wire';
import { assertTensorMatches, referenceRun, releaseReferenceSessions } from '../support/reference-run';
import { authed, startTestApp, TestApp } from '../support/test-app';
import { track, waitFor } from '../support/wait-for';

const MLP = mlpModel({ inputSize: 4, hidden: 8, outputSize: 3, seed: 7 });
/** Holds the only inference process while the mlp infers queue behind it. */
const GATED = mlpModel({ seed: 41 });

/** Row i of the mlp's input: distinct per request, so each answer can be told apart. */
const row = (i: number): number[] => [i, i + 0.5, -i, 2 * i];

/**
 * Dynamic batching applies to the Open Inference Protocol as to /api/v1/predictions: infers of a
 * model with batching on that wait for the process run as one batch, whether their tensors came
 * as JSON or as binary data (both reach the engine as bytes), and each gets its own rows back.
 */
describe('Open Inference Protocol: dynamic batching', () => {
  let t: TestApp;
  let gatedSha: string;

  before(async () => {
    t = await startTestApp('sqlite', {
      listen: true,
      env: { INFERENCE_WORKERS: '1', CACHE_DEFAULT_ENABLED: 'false' },
    });
    for (const [name, bytes] of Object.entries({ gated: GATED, mlp: MLP })) {
      await authed(t).post('/api/v1/models').send({ name }).expect(201);
      const version = await authed(t)
        .post(`/api/v1/models/${name}/versions`)
        .attach('file', bytes, `${name}.onnx`)
        .expect(201);
      if (name === 'gated') gatedSha = version.body.sha256 as string;
    }
    await authed(t)
      .patch('/api/v1/models/mlp')
      .send({ batching: { enabled: true, maxBatchSize: 8, maxQueueDelayMs: 1 } })
      .expect(200);
  });
  after(async () => {
    await t.close();
    await releaseReferenceSessions();
  });

  const infer = (body: Buffer | string, headers: Record<string, string> = {}) =>
    fetch(`${t.baseUrl}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t.adminKey}`, ...headers },
      body,
    });

  it('runs JSON and binary infers that waited together as one batch, each answered with its own rows', async () => {
    const engine = t.app.get(InferenceService);
    const batches: number[] = [];
    const onBatch = ({ model, size }: { model: string; size: number }) => {
      if (model === 'mlp') batches.push(size);
    };
    engine.events.on('batch', onBatch);
    const gate = await holdModelLoads(t, gatedSha);
    try {
      const held = track(
        authed(t)
          .post('/api/v1/predictions')
          .send({ model: 'gated', inputs: { x: [[1, 2, 3, 4]] } })
          .then((res) => res),
      );
      await waitFor(() => engine.status().inFlight === 1, { what: 'the gated prediction to hold the process' });
      const requests = [0, 1, 2, 3].map((i) => {
        if (i % 2 === 0) {
          return infer(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: row(i) }] }));
        }
        const { body, headerLength } = encodeInferBody(
          {
            parameters: { binary_data_output: true },
            inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
          },
          [new Uint8Array(new Float32Array(row(i)).buffer)],
        );
        return infer(body, { 'Inference-Header-Content-Length': String(headerLength) });
      });
      await waitFor(() => engine.status().queueDepth.mlp === 4, { what: 'four infers waiting for the process' });
      gate.release();
      assert.equal((await held.promise).status, 200);
      const answers = await Promise.all(requests);
      assert.deepEqual(batches, [4], 'one run of the four infers');
      for (const [i, res] of answers.entries()) {
        assert.equal(res.status, 200, `infer ${i}`);
        const header = res.headers.get('inference-header-content-length');
        const { header: json, binaries } = decodeInferResponse(
          Buffer.from(await res.arrayBuffer()),
          header === null ? undefined : Number(header),
        );
        const output = (json as { outputs: { name: string; shape: number[]; data?: number[] }[] }).outputs[0];
        assert.deepEqual(output.shape, [1, 3], `infer ${i} gets its one row back`);
        const data = i % 2 === 0 ? (output.data as number[]) : (valuesOf('FP32', binaries.get('y')!) as number[]);
        const expected = (await referenceRun(MLP, { x: { dtype: 'float32', shape: [1, 4], data: row(i) } })).y;
        // A batch may take another kernel path than one row alone: equal within float32 rounding.
        assertTensorMatches({ dtype: 'float32', shape: output.shape, data }, expected, `infer ${i}`, { rtol: 1e-5 });
      }
    } finally {
      gate.release();
      engine.events.off('batch', onBatch);
    }
  });
});

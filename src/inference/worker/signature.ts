/** A loaded model's signature as ONNX Runtime reports it, and the warm-up run built from it. */
import * as ort from 'onnxruntime-node';
import { TENSOR_DTYPES, TensorDtype, TensorSpec } from '../../models/tensor-spec';
import { allocateTensorData } from '../tensor';
import { UnprocessableModel } from './worker-errors';

/** Inputs or outputs as ONNX Runtime reports them: -1 for dynamic dimensions, symbolic names from the proto. */
export function specsOf(
  metadata: readonly ort.InferenceSession.ValueMetadata[],
  dimParams: Map<string, (string | null)[]>,
): TensorSpec[] {
  return metadata.map((value) => {
    if (!value.isTensor)
      throw new UnprocessableModel(`'${value.name}' is not a tensor; only tensor inputs and outputs are served`);
    const dtype = value.type as TensorDtype;
    if (!TENSOR_DTYPES.includes(dtype))
      throw new UnprocessableModel(`'${value.name}' has unsupported type ${value.type}`);
    const names = dimParams.get(value.name);
    const shape = value.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    const dimNames = value.shape.map((d, i) => (typeof d === 'string' && d !== '' ? d : (names?.[i] ?? null)));
    return { name: value.name, dtype, shape, ...(dimNames.some((n) => n !== null) ? { dimNames } : {}) };
  });
}

/**
 * Zero-filled inputs for the warm-up run. Dynamic dimensions are 1 first; models whose graph needs
 * longer sequences (an STFT that pads by reflection, say) get further tries with the leading (batch)
 * dimension at 1 and the other dynamic dimensions at `fill`.
 */
function syntheticFeeds(specs: TensorSpec[], fill: number): Record<string, ort.Tensor> | undefined {
  const feeds: Record<string, ort.Tensor> = {};
  // A named dimension keeps one size across inputs; names that lead an input are batch-like (1).
  const batchNames = new Set(specs.map((spec) => (spec.shape.length > 1 ? spec.dimNames?.[0] : null)).filter(Boolean));
  const sizeOf = (spec: TensorSpec, i: number): number => {
    const name = spec.dimNames?.[i];
    if (name) return batchNames.has(name) ? 1 : fill;
    return i === 0 && spec.shape.length > 1 ? 1 : fill;
  };
  let total = 0;
  for (const spec of specs) {
    const dims = spec.shape.map((d, i) => (d >= 0 ? d : sizeOf(spec, i)));
    const size = dims.reduce((n, d) => n * d, 1);
    total += size;
    if (total > WARMUP_MAX_ELEMENTS) return undefined;
    feeds[spec.name] = new ort.Tensor(spec.dtype, allocateTensorData(spec.dtype, size) as ort.Tensor.DataType, dims);
  }
  return feeds;
}

const WARMUP_FILLS = [1, 16, 256, 1024];
const WARMUP_MAX_ELEMENTS = 64 * 1024 * 1024;
export const QUIET_RUN: ort.InferenceSession.RunOptions = { logSeverityLevel: 3 };

/** Runs the warm-up tries in order; answers the first failure's message when none succeeds. */
export async function warmUp(session: ort.InferenceSession, inputs: TensorSpec[]): Promise<void> {
  let firstFailure: Error | undefined;
  const dynamic = inputs.some((spec) => spec.shape.some((d) => d < 0));
  for (const fill of dynamic ? WARMUP_FILLS : [1]) {
    const feeds = syntheticFeeds(inputs, fill);
    if (!feeds) break;
    try {
      await session.run(feeds, QUIET_RUN);
      return;
    } catch (error) {
      firstFailure ??= error as Error;
    }
  }
  throw new UnprocessableModel(
    `the warm-up run with synthetic inputs failed: ${firstFailure?.message ?? 'inputs too large to synthesize'}`,
  );
}

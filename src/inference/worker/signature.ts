/** A loaded model's signature as ONNX Runtime reports it, and the warm-up run built from it. */
import * as ort from 'onnxruntime-node';
import { TENSOR_DTYPES, TensorDtype, TensorSpec } from '../tensor-spec';
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
 * Shapes of the synthetic inputs for one warm-up try. Dynamic dimensions are 1 first; models whose
 * graph needs longer sequences (an STFT that pads by reflection, say) get further tries with the
 * leading (batch) dimension at 1 and the other dynamic dimensions at `fill`.
 */
function syntheticShapes(specs: TensorSpec[], fill: number): number[][] {
  // A named dimension keeps one size across inputs; names that lead an input are batch-like (1).
  const batchNames = new Set(specs.map((spec) => (spec.shape.length > 1 ? spec.dimNames?.[0] : null)).filter(Boolean));
  const sizeOf = (spec: TensorSpec, i: number): number => {
    const name = spec.dimNames?.[i];
    if (name) return batchNames.has(name) ? 1 : fill;
    return i === 0 && spec.shape.length > 1 ? 1 : fill;
  };
  return specs.map((spec) => spec.shape.map((d, i) => (d >= 0 ? d : sizeOf(spec, i))));
}

const elementsOf = (dims: number[]): number => dims.reduce((n, d) => n * d, 1);

/** Zero-filled tensors of the given shapes. */
function syntheticFeeds(specs: TensorSpec[], shapes: number[][]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  specs.forEach((spec, i) => {
    const data = allocateTensorData(spec.dtype, elementsOf(shapes[i])) as ort.Tensor.DataType;
    feeds[spec.name] = new ort.Tensor(spec.dtype, data, shapes[i]);
  });
  return feeds;
}

/** Why the smallest synthetic inputs do not fit the budget: the largest input, its shape, the total. */
function overBudget(specs: TensorSpec[], shapes: number[][], total: number, maxElements: number): UnprocessableModel {
  const sizes = shapes.map(elementsOf);
  const largest = sizes.indexOf(Math.max(...sizes));
  const shape =
    shapes[largest].length > 8 ? `${shapes[largest].slice(0, 8).join(', ')}, …` : shapes[largest].join(', ');
  const count = (n: number): string => (Number.isSafeInteger(n) ? String(n) : 'more than 2^53');
  return new UnprocessableModel(
    `the warm-up cannot run: input '${specs[largest].name}' needs ${count(sizes[largest])} elements ` +
      `(shape [${shape}]) and all inputs ${count(total)}, more than WARMUP_MAX_ELEMENTS (${maxElements}); ` +
      'a model whose fixed input shapes need more elements than that cannot be warmed up, so it is refused ' +
      '(an operator can raise WARMUP_MAX_ELEMENTS)',
  );
}

const WARMUP_FILLS = [1, 16, 256, 1024];
export const QUIET_RUN: ort.InferenceSession.RunOptions = { logSeverityLevel: 3 };

/**
 * Runs the warm-up tries in order, each within `maxElements` synthetic input elements in all
 * (WARMUP_MAX_ELEMENTS); answers the first failure's message when none succeeds. When even the
 * smallest inputs exceed the budget, nothing is allocated and the model is refused.
 */
export async function warmUp(session: ort.InferenceSession, inputs: TensorSpec[], maxElements: number): Promise<void> {
  let firstFailure: Error | undefined;
  const dynamic = inputs.some((spec) => spec.shape.some((d) => d < 0));
  for (const [index, fill] of (dynamic ? WARMUP_FILLS : [1]).entries()) {
    const shapes = syntheticShapes(inputs, fill);
    const total = shapes.reduce((n, dims) => n + elementsOf(dims), 0);
    if (total > maxElements) {
      if (index === 0) throw overBudget(inputs, shapes, total, maxElements);
      break;
    }
    try {
      await session.run(syntheticFeeds(inputs, shapes), QUIET_RUN);
      return;
    } catch (error) {
      firstFailure ??= error as Error;
    }
  }
  throw new UnprocessableModel(`the warm-up run with synthetic inputs failed: ${firstFailure?.message}`);
}

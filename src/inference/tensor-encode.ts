import { boundedName, boundedShape } from '../common/bounded-text';
import type { TensorDtype } from './tensor-spec';
import { OutputTooLargeError } from './engine-errors';
import { elementCount, TensorData } from './tensor';

export interface EncodedTensor {
  dtype: TensorDtype;
  shape: number[];
  data: (number | string | boolean)[];
}

/**
 * Refuses outputs that hold more than `maxElements` elements together (MAX_OUTPUT_ELEMENTS), from
 * their dims alone: it runs right after the model, before anything copies, transfers or
 * serializes the data. Names the output that crosses the limit, and its shape.
 */
export function checkOutputSize(outputs: Record<string, { dims: readonly number[] }>, maxElements: number): void {
  let total = 0;
  for (const [name, { dims }] of Object.entries(outputs)) {
    const count = elementCount(dims);
    total += count;
    if (total <= maxElements) continue;
    const others = total - count;
    const problem =
      `has shape ${boundedShape(dims)} (${count} elements)` +
      (others > 0 ? `, ${total} with the other outputs asked for` : '') +
      `, over MAX_OUTPUT_ELEMENTS (${maxElements})`;
    throw new OutputTooLargeError(
      `Output '${boundedName(name)}' ${problem}; ask for fewer outputs (outputs: [...]) or send smaller inputs`,
      [{ field: `outputs.${boundedName(name)}`, problem }],
    );
  }
}

/** Outputs as JSON: flat row-major data; 64-bit integers beyond 2^53 become decimal strings. */
export function encodeTensor(tensor: TensorData): EncodedTensor {
  const { dtype, dims, data } = tensor;
  let out: (number | string | boolean)[];
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    out = new Array<number | string>(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      out[i] = v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v.toString();
    }
  } else if (dtype === 'bool') {
    out = Array.from(data as Uint8Array, (v) => v !== 0);
  } else if (Array.isArray(data)) {
    out = data;
  } else {
    out = Array.from(data as Float32Array);
  }
  return { dtype, shape: dims, data: out };
}

/**
 * The `outputs` object of a response, serialized. Checks the output cap first, so an output over
 * it is never turned into a JS array (let alone a string past V8's limit, a RangeError).
 */
export function encodeOutputs(outputs: Record<string, TensorData>, maxElements: number): string {
  checkOutputSize(outputs, maxElements);
  // fromEntries: an output named __proto__ stays an own key.
  return JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, encodeTensor(t)])));
}

import { createHash } from 'node:crypto';
import type { LooseInputs } from './tensor-codec';

/**
 * Canonical hash of inputs as read from a request, before any signature: every input's name,
 * declared dtype, shape and values, in name order. A tensor sent nested or as {shape, data} reads
 * to the same values, so it hashes the same; all-number tensors hash their float64 bytes.
 */
export function hashInputs(inputs: LooseInputs): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(inputs).sort()) {
    const tensor = inputs[name];
    hash.update(`${name.length}:${name}|`);
    if (tensor.problem !== undefined) hash.update(`!${tensor.problem}`);
    else {
      hash.update(`${tensor.declared === undefined ? '' : JSON.stringify(tensor.declared)}|${tensor.dims.join('x')}|`);
      const { data } = tensor;
      if (data instanceof Float64Array) hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else hash.update(`j${JSON.stringify(data)}`);
    }
    hash.update('\u0000');
  }
  return hash.digest('hex');
}

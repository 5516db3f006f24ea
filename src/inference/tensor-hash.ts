import { createHash } from 'node:crypto';
import type { LooseInputs } from './tensor-codec';

/**
 * Canonical hash of inputs as read from a request, before any signature: every input's name,
 * shape and values, in name order. A tensor sent nested or as {shape, data} (with or without its
 * dtype) reads to the same values, so it hashes the same; all-number tensors hash their float64
 * bytes. A declared dtype is left out: the caller checks it against the signature before using
 * the hash (a cache hit must never skip a check that would refuse the request).
 */
export function hashInputs(inputs: LooseInputs): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(inputs).sort()) {
    const tensor = inputs[name];
    hash.update(`${name.length}:${name}|`);
    if (tensor.problem !== undefined) hash.update(`!${tensor.problem}`);
    else {
      hash.update(`${tensor.dims.join('x')}|`);
      const { data } = tensor;
      if (data instanceof Float64Array) hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else hash.update(`j${JSON.stringify(data)}`);
    }
    hash.update('\u0000');
  }
  return hash.digest('hex');
}

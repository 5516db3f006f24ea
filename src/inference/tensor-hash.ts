import { createHash } from 'node:crypto';
import type { TensorData } from './tensor';

/**
 * Canonical hash of decoded inputs: every input's name, dtype, shape and value bytes, in name
 * order. A tensor sent nested or as {shape, data} decodes to the same bytes, so it hashes the same.
 */
export function hashInputs(feeds: Record<string, TensorData>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(feeds).sort()) {
    const { dtype, dims, data } = feeds[name];
    hash.update(`${name.length}:${name}|${dtype}|${dims.join('x')}|`);
    if (Array.isArray(data)) hash.update(JSON.stringify(data));
    else hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    hash.update('\u0000');
  }
  return hash.digest('hex');
}

import { createHash } from 'node:crypto';
import { LENGTH_PREFIX_BYTES } from '../inference/tensor-wire';
import type { OipInput } from './oip-types';

const encoder = new TextEncoder();

/**
 * Canonical hash of a request's inputs for the prediction cache: in name order, each input's
 * name, datatype, shape and element bytes (BYTES: each element's length and UTF-8 bytes, the
 * binary extension's framing). The same tensor sent as JSON `data`, as binary data or over gRPC
 * reads to the same bytes, so it hashes the same.
 */
export function hashOipInputs(inputs: readonly OipInput[]): string {
  const hash = createHash('sha256');
  const sorted = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const prefix = new DataView(new ArrayBuffer(LENGTH_PREFIX_BYTES));
  for (const { name, datatype, shape, data } of sorted) {
    hash.update(`${name.length}:${name}|${datatype}|${shape.join('x')}|`);
    if (!Array.isArray(data)) hash.update(data);
    else {
      for (const text of data) {
        const bytes = encoder.encode(text);
        prefix.setUint32(0, bytes.length, true);
        hash.update(new Uint8Array(prefix.buffer));
        hash.update(bytes);
      }
    }
    hash.update('\u0000');
  }
  return hash.digest('hex');
}

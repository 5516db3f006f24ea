import type { RawOutput } from '../inference/inference.service';
import type { TensorDtype } from '../inference/tensor-spec';
import { jsonDataOf, tensorFromRaw } from '../inference/tensor-wire';
import { oipDatatypeOf } from './oip-datatypes';
import type { OipOutput } from './oip-types';

/** An output as a cache entry keeps it: its bytes in base64, whatever form the client asked for. */
interface CachedOutput {
  name: string;
  dtype: TensorDtype;
  dims: number[];
  raw: string;
}

/**
 * The `outputs` field of a cache entry for an infer: every output's bytes, so a later request
 * may ask for JSON or binary alike. Undefined when the entry would pass `maxBytes` (base64 is
 * 4/3 of the bytes), which is known before anything is encoded.
 */
export function outputsForCache(outputs: readonly RawOutput[], maxBytes: number): string | undefined {
  const bytes = outputs.reduce((n, output) => n + output.raw.byteLength, 0);
  if (Math.ceil(bytes / 3) * 4 > maxBytes) return undefined;
  const cached: CachedOutput[] = outputs.map((output) => ({
    name: output.name,
    dtype: output.dtype,
    dims: output.dims,
    raw: Buffer.from(output.raw.buffer, output.raw.byteOffset, output.raw.byteLength).toString('base64'),
  }));
  return JSON.stringify(cached);
}

/**
 * A cached infer's outputs in the forms this request asks for: outputs that go out as JSON are
 * rendered here, on the HTTP thread, which an entry's bound (CACHE_MAX_ENTRY_BYTES) keeps short.
 */
export function cachedOutputs(entry: string, binary: ReadonlyMap<string, boolean>): OipOutput[] {
  const cached = JSON.parse(entry) as CachedOutput[];
  // In the order this request named them (the entry may come from a request that named them otherwise).
  const order = [...binary.keys()];
  cached.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return cached.map((output) => {
    const raw = new Uint8Array(Buffer.from(output.raw, 'base64'));
    const asBinary = binary.get(output.name) ?? false;
    return {
      name: output.name,
      datatype: oipDatatypeOf(output.dtype),
      shape: output.dims,
      raw,
      binary: asBinary,
      ...(asBinary ? {} : { json: jsonDataOf(tensorFromRaw({ dtype: output.dtype, dims: output.dims, bytes: raw })) }),
    };
  });
}

import type { NumericArray, TensorData } from '../inference/tensor';
import type { TensorDtype } from '../inference/tensor-spec';

/**
 * How a validated instance is stored between submission and run: a small JSON header naming each
 * tensor's dtype, dims and byte range, and one binary blob with the raw little-endian bytes of
 * every numeric tensor (string tensors stay in the header). Exact for every dtype (int64 beyond
 * 2^53 included), a quarter of the JSON the client sent, and read back without parsing numbers.
 */
export interface StoredInstance {
  header: string;
  data: Buffer;
}

interface StoredTensor {
  dtype: TensorDtype;
  dims: number[];
  /** Byte offset and length in `data` (numeric tensors). */
  at?: [number, number];
  strings?: string[];
}

const ARRAY_TYPES: Partial<
  Record<TensorDtype, { new (buffer: ArrayBuffer): NumericArray; BYTES_PER_ELEMENT: number }>
> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

/** The header of an instance and its tensors' bytes, in `data` order, not yet joined. */
export function encodeInstanceParts(feeds: Record<string, TensorData>): { header: string; parts: Uint8Array[] } {
  const parts: Uint8Array[] = [];
  let offset = 0;
  // fromEntries defines own properties: an input named __proto__ stays an input.
  const header = Object.fromEntries(
    Object.entries(feeds).map(([name, { dtype, dims, data }]): [string, StoredTensor] => {
      if (Array.isArray(data)) return [name, { dtype, dims, strings: data }];
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      parts.push(bytes);
      const at: [number, number] = [offset, bytes.byteLength];
      offset += bytes.byteLength;
      return [name, { dtype, dims, at }];
    }),
  );
  return { header: JSON.stringify(header), parts };
}

export function encodeInstance(feeds: Record<string, TensorData>): StoredInstance {
  const { header, parts } = encodeInstanceParts(feeds);
  return { header, data: Buffer.concat(parts) };
}

/**
 * The instance's tensors, each numeric one in an ArrayBuffer of its own (aligned for its typed
 * array, transferable to a worker). With `adopt`, the caller hands `stored.data` over: a tensor
 * whose bytes are the whole of that buffer's memory uses it in place instead of a copy (a 16 MB
 * instance costs no second copy on the HTTP thread); the caller must not use `stored.data` after.
 */
export function decodeInstance(stored: StoredInstance, options: { adopt?: boolean } = {}): Record<string, TensorData> {
  const header = JSON.parse(stored.header) as Record<string, StoredTensor>;
  const feeds: Record<string, TensorData> = {};
  const whole = stored.data.byteOffset === 0 && stored.data.byteLength === stored.data.buffer.byteLength;
  for (const [name, tensor] of Object.entries(header)) {
    let data: TensorData['data'];
    if (tensor.strings) {
      data = tensor.strings;
    } else {
      const ArrayType = ARRAY_TYPES[tensor.dtype];
      if (!ArrayType || !tensor.at) throw new Error(`stored instance has unsupported tensor ${name} (${tensor.dtype})`);
      const [start, length] = tensor.at;
      if (options.adopt && whole && start === 0 && length === stored.data.byteLength) {
        data = new ArrayType(stored.data.buffer as ArrayBuffer);
      } else {
        const buffer = new ArrayBuffer(length);
        new Uint8Array(buffer).set(stored.data.subarray(start, start + length));
        data = new ArrayType(buffer);
      }
    }
    Object.defineProperty(feeds, name, {
      value: { dtype: tensor.dtype, dims: tensor.dims, data },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return feeds;
}

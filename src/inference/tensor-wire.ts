import { boundedShape } from '../common/bounded-text';
import { InvalidInputError } from '../common/errors';
import { elementCount, numericArrayClass, RawTensor, TensorData } from './tensor';
import { InputProblem } from './tensor-codec';

/**
 * Tensors as wire bytes and wire JSON, for the Open Inference Protocol's binary tensor data
 * extension and gRPC raw contents, at the engine's level (no protocol types: this runs in
 * inference processes). Typed arrays use the platform's byte order, which on every platform
 * Node.js ships for (x64, arm64) is the protocol's little-endian.
 */

/** Bytes of each element's length prefix in a string tensor on the wire. */
export const LENGTH_PREFIX_BYTES = 4;

const encoder = new TextEncoder();

/**
 * The little-endian element bytes of a tensor. Numeric tensors (bool one byte each, float16 its
 * 16-bit words) give a view of their buffer, no copy. String tensors are framed as the protocol's
 * BYTES: each element as a 4-byte little-endian length, then its UTF-8 bytes.
 */
export function rawBytesOf(tensor: TensorData): Uint8Array {
  const { data } = tensor;
  if (!Array.isArray(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const encoded = data.map((text) => encoder.encode(text));
  const total = encoded.reduce((sum, bytes) => sum + LENGTH_PREFIX_BYTES + bytes.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const bytes of encoded) {
    view.setUint32(at, bytes.length, true);
    out.set(bytes, at + LENGTH_PREFIX_BYTES);
    at += LENGTH_PREFIX_BYTES + bytes.length;
  }
  return out;
}

/**
 * A typed tensor over raw element bytes: a view of the same memory when the bytes start at a
 * multiple of the element size (typed arrays require it), else one copy into an aligned buffer.
 * A view into an HTTP body is often unaligned (the JSON header before it has any length); the copy
 * is a memcpy, never a pass through JS numbers. String tensors are read from their framing
 * (rawBytesOf's), as strictly as client bytes.
 */
export function tensorFromRaw(raw: RawTensor): TensorData {
  const { dtype, dims, bytes } = raw;
  if (dtype === 'string') {
    try {
      return { dtype, dims, data: readFramedStrings(bytes, dims) };
    } catch (error) {
      if (error instanceof InputProblem) throw new InvalidInputError(`string tensor ${error.message}`);
      throw error;
    }
  }
  const ArrayClass = numericArrayClass(dtype);
  const count = elementCount(dims);
  if (bytes.byteLength !== count * ArrayClass.BYTES_PER_ELEMENT) {
    throw new InvalidInputError(`${bytes.byteLength} bytes do not hold the ${count} ${dtype} elements of their shape`);
  }
  const aligned = bytes.byteOffset % ArrayClass.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
  return { dtype, dims, data: new ArrayClass(aligned.buffer, aligned.byteOffset, count) };
}

/** Fatal: invalid UTF-8 is refused, not replaced. BOMs are kept: they are part of the data. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * UTF-8 text, or undefined when the bytes are not UTF-8: ONNX string tensors hold text, and a
 * replacement character would silently change the input.
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** One BYTES element's text; bytes that are not UTF-8 are an InputProblem naming the element. */
export function elementText(bytes: Uint8Array, index: number): string {
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new InputProblem(`has BYTES element ${index} that is not valid UTF-8`);
  return text;
}

/**
 * The elements of a string tensor framed as the protocol's BYTES (4-byte little-endian length,
 * then UTF-8), exactly filling `bytes` with the elements of `dims`. Never reads past `bytes`; each
 * problem is an InputProblem about the tensor ("has BYTES element 2 of 9 bytes, which runs past...").
 */
export function readFramedStrings(bytes: Uint8Array, dims: readonly number[]): string[] {
  const count = elementCount(dims);
  const needs = `shape ${boundedShape(dims)} needs ${count} BYTES elements`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Pushed, not preallocated: a huge shape over a few bytes fails after bytes/4 elements at most.
  const strings: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + LENGTH_PREFIX_BYTES > bytes.length) {
      throw new InputProblem(
        `has BYTES element ${i} whose length prefix runs past the end of its ${bytes.length} bytes; ${needs}`,
      );
    }
    const length = view.getUint32(at, true);
    at += LENGTH_PREFIX_BYTES;
    if (length > bytes.length - at) {
      throw new InputProblem(
        `has BYTES element ${i} of ${length} bytes, which runs past the end of its ${bytes.length} bytes`,
      );
    }
    strings.push(elementText(bytes.subarray(at, at + length), i));
    at += length;
  }
  if (at !== bytes.length) {
    throw new InputProblem(`has ${bytes.length - at} bytes after its ${count} BYTES elements; ${needs}`);
  }
  return strings;
}

/**
 * The `data` array of the protocol's JSON form as text: flat, row-major. 64-bit integers are
 * exact, unquoted decimal literals (JSON has no integer size limit; Python clients read them
 * exactly, JavaScript ones round past 2^53), bools true/false, float16 decoded to numbers, strings
 * as JSON strings. NaN and ±Infinity, which JSON cannot spell, become null as in JSON.stringify.
 */
export function jsonDataOf(tensor: TensorData): string {
  const { dtype, data } = tensor;
  if (Array.isArray(data)) return JSON.stringify(data);
  if (dtype === 'bool') return `[${Array.from(data as Uint8Array, (v) => v !== 0).join(',')}]`;
  if (dtype === 'float16') return JSON.stringify(Array.from(data as Uint16Array, float16ToNumber));
  if (data instanceof Float32Array || data instanceof Float64Array) return JSON.stringify(Array.from(data));
  // Integers: their decimal text is the JSON literal (bigints print without the n).
  return `[${data.join(',')}]`;
}

/** The number that IEEE 754 half-precision bits stand for. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * fraction * 2 ** -24; // subnormal
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** 65520 is halfway between the largest half (65504) and 2^16: ties to even round it up, to Infinity. */
const HALF_OVERFLOW = 65520;
const SMALLEST_NORMAL_HALF = 2 ** -14;
const scratch = new DataView(new ArrayBuffer(8));

/**
 * IEEE 754 half-precision bits of a number, rounded once from the double to nearest, ties to
 * even (as numpy does); past the largest half it overflows to Infinity. NaN is the quiet 0x7e00.
 */
export function numberToFloat16(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= HALF_OVERFLOW) return sign | 0x7c00;
  // Subnormal halves are the multiples of 2^-24; 1024 of them round up into the smallest normal.
  if (magnitude < SMALLEST_NORMAL_HALF) return sign | roundHalfEven(magnitude * 2 ** 24);
  scratch.setFloat64(0, magnitude);
  const exponent = ((scratch.getUint16(0) >> 4) & 0x7ff) - 1023;
  // 1024..2048 steps of 2^(exponent-10); 2048 carries into the exponent by the addition.
  const significand = roundHalfEven(magnitude * 2 ** (10 - exponent));
  return sign | (((exponent + 15) << 10) + significand - 1024);
}

/** Scaling by powers of two above is exact, so this is the only rounding. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

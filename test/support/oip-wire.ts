/**
 * Test-side wire helpers for the Open Inference Protocol's binary tensor data extension: build
 * request bodies (JSON header then raw tensor bytes) and split binary responses, independently of
 * the server's codec so that tests check it rather than agree with it by construction.
 */
import { elementBytes, type OipDatatype } from '../../src/oip/oip-datatypes';

export type WireValue = number | bigint | boolean | string;

/** The body of a binary infer request: the JSON header, then each tensor's bytes in order. */
export function encodeInferBody(header: object, binaries: Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...binaries]), headerLength: json.length };
}

/**
 * Splits a response the way a client does: the JSON header (the whole body when there is no
 * `Inference-Header-Content-Length`), then one slice per output whose `binary_data_size` is set,
 * in the order of `outputs`. Throws when the sizes do not add up to the body. The header is `any`:
 * it is whatever the server sent, and the tests assert on its shape.
 */
export function decodeInferResponse(
  body: Buffer,
  headerLength: number | undefined,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): { header: any; binaries: Map<string, Buffer> } {
  const end = headerLength ?? body.length;
  if (end > body.length) throw new Error(`header length ${end} exceeds the body (${body.length} bytes)`);
  const header = JSON.parse(body.subarray(0, end).toString('utf8'));
  const binaries = new Map<string, Buffer>();
  let offset = end;
  for (const output of header.outputs ?? []) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (offset + size > body.length) throw new Error(`output '${output.name}' runs past the body`);
    binaries.set(output.name, body.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== body.length) throw new Error(`${body.length - offset} bytes follow the last binary output`);
  return { header, binaries };
}

/** Little-endian element bytes; BYTES elements as a 4-byte LE length then their UTF-8 bytes. */
export function bytesOf(datatype: OipDatatype, values: WireValue[]): Buffer {
  if (datatype === 'BYTES') {
    return Buffer.concat(
      values.map((value) => {
        const text = Buffer.from(String(value), 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(text.length);
        return Buffer.concat([length, text]);
      }),
    );
  }
  const size = elementBytes(datatype) as number;
  const out = Buffer.alloc(values.length * size);
  values.forEach((value, i) => writeElement(out, i * size, datatype, value));
  return out;
}

function writeElement(out: Buffer, at: number, datatype: Exclude<OipDatatype, 'BYTES'>, value: WireValue): void {
  switch (datatype) {
    case 'BOOL':
      return void out.writeUInt8(value === true || value === 1 ? 1 : 0, at);
    case 'UINT8':
      return void out.writeUInt8(Number(value), at);
    case 'INT8':
      return void out.writeInt8(Number(value), at);
    case 'UINT16':
      return void out.writeUInt16LE(Number(value), at);
    case 'INT16':
      return void out.writeInt16LE(Number(value), at);
    case 'UINT32':
      return void out.writeUInt32LE(Number(value), at);
    case 'INT32':
      return void out.writeInt32LE(Number(value), at);
    case 'UINT64':
      return void out.writeBigUInt64LE(BigInt(value), at);
    case 'INT64':
      return void out.writeBigInt64LE(BigInt(value), at);
    case 'FP16':
      return void out.writeUInt16LE(halfBitsOf(Number(value)), at);
    case 'FP32':
      return void out.writeFloatLE(Number(value), at);
    case 'FP64':
      return void out.writeDoubleLE(Number(value), at);
  }
}

/** The elements of `bytes`: BOOL as booleans, 64-bit integers as bigints, BYTES as strings. */
export function valuesOf(datatype: OipDatatype, bytes: Uint8Array): WireValue[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (datatype === 'BYTES') {
    const values: string[] = [];
    for (let at = 0; at < buf.length;) {
      const length = buf.readUInt32LE(at);
      values.push(buf.toString('utf8', at + 4, at + 4 + length));
      at += 4 + length;
    }
    return values;
  }
  const size = elementBytes(datatype) as number;
  if (buf.length % size !== 0) throw new Error(`${buf.length} bytes are not a whole number of ${datatype}`);
  return Array.from({ length: buf.length / size }, (_, i) => readElement(buf, i * size, datatype));
}

function readElement(buf: Buffer, at: number, datatype: Exclude<OipDatatype, 'BYTES'>): WireValue {
  switch (datatype) {
    case 'BOOL':
      return buf.readUInt8(at) !== 0;
    case 'UINT8':
      return buf.readUInt8(at);
    case 'INT8':
      return buf.readInt8(at);
    case 'UINT16':
      return buf.readUInt16LE(at);
    case 'INT16':
      return buf.readInt16LE(at);
    case 'UINT32':
      return buf.readUInt32LE(at);
    case 'INT32':
      return buf.readInt32LE(at);
    case 'UINT64':
      return buf.readBigUInt64LE(at);
    case 'INT64':
      return buf.readBigInt64LE(at);
    case 'FP16':
      return halfValueOf(buf.readUInt16LE(at));
    case 'FP32':
      return buf.readFloatLE(at);
    case 'FP64':
      return buf.readDoubleLE(at);
  }
}

/**
 * IEEE half-precision bits of a number, rounded once to nearest even from the double (an oracle
 * written with plain arithmetic, unlike the server's bit-level conversion).
 */
export function halfBitsOf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude === 0) return sign;
  let exponent = Math.max(-14, Math.floor(Math.log2(magnitude)));
  if (exponent > -14 && 2 ** exponent > magnitude) exponent -= 1;
  if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  const steps = magnitude / 2 ** (exponent - 10);
  let rounded = Math.floor(steps);
  const rest = steps - rounded;
  if (rest > 0.5 || (rest === 0.5 && rounded % 2 === 1)) rounded += 1;
  if (rounded === 2048) {
    rounded = 1024;
    exponent += 1;
  }
  if (rounded < 1024) return sign | rounded; // subnormal (exponent is -14)
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | (rounded - 1024);
}

/** The number that half-precision bits stand for. */
export function halfValueOf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

import { InvalidInputError, PayloadTooLargeError } from '../common/errors';
import { decodeInputs } from '../inference/tensor-codec';
import type { TensorData } from '../inference/tensor';
import type { TensorSpec } from '../inference/tensor-spec';
import { encodeInstanceParts, StoredInstance } from './instance-codec';
import { RawInstance, tooManyInstances } from './submission-source';

/** The bounds a batch of instances is checked against (see the JOBS_* variables). */
export interface EncodeLimits {
  /** JOBS_MAX_INSTANCES: an instance at this index or past it refuses the submission. */
  maxInstances: number;
  /** JOBS_MAX_INSTANCE_ELEMENTS: elements across one instance's inputs. */
  maxInstanceElements: number;
  /** JOBS_MAX_DECODED_BYTES, for the message. */
  maxDecodedBytes: number;
  /** What the instances encoded before this batch left of JOBS_MAX_DECODED_BYTES. */
  decodedBytesLeft: number;
}

/** Encoded instances (instance-codec.ts) of one batch, with every tensor byte in one buffer. */
export interface EncodedInstances {
  headers: string[];
  /** Bytes of each instance's data, in order. */
  sizes: number[];
  /** The instances' data one after another; an ArrayBuffer of its own, moved between threads. */
  data: ArrayBuffer;
  /** Header and data bytes: what counts against JOBS_MAX_DECODED_BYTES. */
  bytes: number;
}

export function decodedTooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `The decoded instances exceed JOBS_MAX_DECODED_BYTES (${maxBytes} bytes); split the submission into several jobs`,
  );
}

/** The instance as typed tensors, or an error naming its index (and line) and every problem in it. */
function decode(specs: readonly TensorSpec[], instance: RawInstance, maxElements: number): Record<string, TensorData> {
  const cap = { max: maxElements, variable: 'JOBS_MAX_INSTANCE_ELEMENTS' };
  try {
    return decodeInputs(specs, instance.inputs, cap, `${instance.field}.inputs`);
  } catch (error) {
    if (!instance.where) throw error;
    if (error instanceof InvalidInputError)
      throw new InvalidInputError(`${error.message}${instance.where}`, error.details);
    if (error instanceof PayloadTooLargeError) throw new PayloadTooLargeError(`${error.message}${instance.where}`);
    throw error;
  }
}

/**
 * Checks each instance against the signature and encodes it for storage; the first bad one, or
 * the first past a limit, refuses the whole batch. Runs in an inference worker.
 */
export function encodeInstances(
  source: Iterable<RawInstance>,
  specs: readonly TensorSpec[],
  limits: EncodeLimits,
): EncodedInstances {
  const headers: string[] = [];
  const sizes: number[] = [];
  const parts: Uint8Array[] = [];
  let dataBytes = 0;
  let bytes = 0;
  for (const instance of source) {
    if (instance.index >= limits.maxInstances) throw tooManyInstances(limits.maxInstances);
    const encoded = encodeInstanceParts(decode(specs, instance, limits.maxInstanceElements));
    const size = encoded.parts.reduce((sum, part) => sum + part.byteLength, 0);
    bytes += Buffer.byteLength(encoded.header) + size;
    if (bytes > limits.decodedBytesLeft) throw decodedTooLarge(limits.maxDecodedBytes);
    headers.push(encoded.header);
    sizes.push(size);
    parts.push(...encoded.parts);
    dataBytes += size;
  }
  const data = new ArrayBuffer(dataBytes);
  const view = new Uint8Array(data);
  let at = 0;
  for (const part of parts) {
    view.set(part, at);
    at += part.byteLength;
  }
  return { headers, sizes, data, bytes };
}

/** The stored instances of a batch, as views into its buffer (no copy). */
export function* storedInstances(batch: EncodedInstances): Iterable<StoredInstance> {
  let at = 0;
  for (let i = 0; i < batch.headers.length; i++) {
    yield { header: batch.headers[i], data: Buffer.from(batch.data, at, batch.sizes[i]) };
    at += batch.sizes[i];
  }
}

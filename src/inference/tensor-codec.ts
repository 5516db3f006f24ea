import { boundedList, boundedName, boundedShape, boundedValue, MAX_SIMILAR_PROBLEMS } from '../common/bounded-text';
import { ErrorDetail, InvalidInputError, PayloadTooLargeError } from '../common/errors';
import type { TensorDtype, TensorSpec } from './tensor-spec';
import { allocateTensorData, elementCount, NumericArray, TensorData } from './tensor';

/**
 * Thrown while decoding one input, its message a predicate about it ("has shape ..."); collected
 * into a single 400 naming every problem. The OIP codec reuses the checks below through it.
 */
export class InputProblem extends Error {}

/** An explicit shape over MAX_TENSOR_RANK; the signature check adds the rank the model expects. */
class RankProblem extends InputProblem {}

/**
 * Deepest tensor accepted (ONNX models in use stay far below it). A nested array deeper than this
 * is refused before anything walks it, so no input can overflow a stack or build a huge shape.
 */
export const MAX_TENSOR_RANK = 64;

/** An input past the element budget: a problem like the others, or a 413 under an `ElementCap`. */
class OverBudget extends InputProblem {}

/**
 * A hard cap on the elements of one decode (a job instance, JOBS_MAX_INSTANCE_ELEMENTS): past it
 * the whole submission is too large (413 naming `variable`), not wrong (400).
 */
export interface ElementCap {
  max: number;
  variable: string;
}

/** Values each integer dtype holds (the request schema states the same ranges). */
export const INTEGER_RANGES: Partial<Record<TensorDtype, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};
export const BIGINT_RANGES: Partial<Record<TensorDtype, [bigint, bigint]>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function allocate(dtype: TensorDtype, size: number): NumericArray | string[] {
  if (dtype === 'float16') throw new InputProblem('has dtype float16, which predictions over JSON do not support yet');
  return allocateTensorData(dtype, size);
}

/**
 * Returns a writer that checks one JSON value against the dtype and stores it at an index (not
 * float16). `typeName` is the type as the client knows it, for messages (the OIP's FP32, say).
 */
export function writerFor(
  dtype: TensorDtype,
  target: NumericArray | string[],
  typeName: string = dtype,
): (value: unknown, at: number) => void {
  const fail = (value: unknown, at: number): never => {
    throw new InputProblem(`value ${boundedValue(value)} at flat index ${at} is not representable as ${typeName}`);
  };
  if (dtype === 'float32' || dtype === 'float64') {
    const out = target as Float32Array | Float64Array;
    // A float32 value is representable when it rounds to a finite float32 (3.4028235e38 does).
    const finite = dtype === 'float32' ? (v: number) => Number.isFinite(Math.fround(v)) : Number.isFinite;
    return (value, at) => {
      // Digits past 2^53, read exactly as a BigInt, are the double JSON.parse would give: floats
      // from 2^53 to 1e21 are written that way (JSON.stringify(1e20), our own FP32 outputs).
      const number = typeof value === 'bigint' ? Number(value) : value;
      if (typeof number !== 'number' || !finite(number)) fail(value, at);
      out[at] = number as number;
    };
  }
  const range = INTEGER_RANGES[dtype];
  if (range) {
    const out = target as Int32Array;
    const [min, max] = range;
    return (value, at) => {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(value, at);
      out[at] = value as number;
    };
  }
  const bigRange = BIGINT_RANGES[dtype];
  if (bigRange) {
    const out = target as BigInt64Array | BigUint64Array;
    const [min, max] = bigRange;
    return (value, at) => {
      const big = exactInteger(value);
      if (big !== undefined && big >= min && big <= max) {
        out[at] = big;
        return;
      }
      const why =
        big !== undefined
          ? `its range is ${min} to ${max}`
          : Number.isInteger(value)
            ? 'a number past 2^53 may already be rounded; send it as a decimal string'
            : 'use a safe integer or a decimal string';
      throw new InputProblem(
        `value ${boundedValue(value)} at flat index ${at} is not representable as ${typeName} (${why})`,
      );
    };
  }
  if (dtype === 'bool') {
    const out = target as Uint8Array;
    return (value, at) => {
      if (typeof value !== 'boolean') fail(value, at);
      out[at] = value ? 1 : 0;
    };
  }
  const out = target as string[];
  return (value, at) => {
    if (typeof value !== 'string') fail(value, at);
    out[at] = value as string;
  };
}

/** A 64-bit integer sent as a string: decimal digits, optionally signed (the range is checked apart). */
export const DECIMAL_INTEGER = /^-?\d{1,20}$/;

/**
 * A 64-bit integer value as given exactly: a safe-integer number, a BigInt (JSON digits past 2^53
 * read exactly) or a decimal string. An integer number past 2^53 is not one: it may be rounded.
 */
function exactInteger(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) return BigInt(value);
  return undefined;
}

/** Shape of a nested array, read along the first element of each level, at most MAX_TENSOR_RANK deep. */
function inferShape(value: unknown): number[] {
  const shape: number[] = [];
  let level = value;
  while (Array.isArray(level)) {
    if (shape.length === MAX_TENSOR_RANK) {
      throw new InputProblem(`is nested deeper than ${MAX_TENSOR_RANK} levels (the largest rank accepted)`);
    }
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function holdsNoContainer(array: readonly unknown[]): boolean {
  for (let i = 0; i < array.length; i++) if (isContainer(array[i])) return false;
  return true;
}

/**
 * Whether arrays and objects inside `value` nest more than `limit` levels (`value` itself is level
 * 1). Iterative with an early exit, so any depth the JSON parser accepted is checked without
 * recursion. Arrays of plain values (the rows of a tensor) are scanned in place rather than
 * stacked: a 4M-value tensor takes a few tens of milliseconds.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (!isContainer(value)) return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  for (let node = nodes.pop(); node !== undefined; node = nodes.pop()) {
    const depth = depths.pop() as number;
    if (depth > limit) return true;
    const children: readonly unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (!isContainer(child)) continue;
      if (Array.isArray(child) && holdsNoContainer(child)) {
        if (depth + 1 > limit) return true;
        continue;
      }
      nodes.push(child);
      depths.push(depth + 1);
    }
  }
  return false;
}

/**
 * Copies a nested array into flat storage, checking that every level is rectangular. The path of
 * an element is only spelled out when it is wrong: this loop runs once per input value.
 */
export function flattenNested(value: unknown, shape: number[], write: (v: unknown, at: number) => void): void {
  const path: number[] = [];
  const where = () => `the value${path.map((i) => `[${i}]`).join('')}`;
  let at = 0;
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      write(node, at++); // rank 0: a bare scalar
      return;
    }
    if (!Array.isArray(node)) {
      throw new InputProblem(`is not rectangular: ${where()} is a scalar, expected an array of ${shape[depth]}`);
    }
    if (node.length !== shape[depth]) {
      throw new InputProblem(`is not rectangular: ${where()} has ${node.length} elements, expected ${shape[depth]}`);
    }
    if (depth === shape.length - 1) {
      for (let i = 0; i < node.length; i++) {
        const element: unknown = node[i];
        if (Array.isArray(element)) {
          path.push(i);
          throw new InputProblem(`is not rectangular: ${where()} is an array, expected a scalar`);
        }
        write(element, at++);
      }
      return;
    }
    for (let i = 0; i < node.length; i++) {
      path.push(i);
      walk(node[i], depth + 1);
      path.pop();
    }
  };
  walk(value, 0);
}

/** Checks a shape against the spec's rank and fixed dimensions (Triton-style expected vs got). */
export function checkShape(spec: TensorSpec, shape: number[]): void {
  if (shape.length > MAX_TENSOR_RANK) {
    throw new InputProblem(
      `has rank ${shape.length} (shape ${boundedShape(shape)}), more than the ${MAX_TENSOR_RANK} accepted; ` +
        `the model expects rank ${spec.shape.length} (${boundedShape(spec.shape)})`,
    );
  }
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new InputProblem(`has an invalid shape ${boundedShape(shape)}: dimensions must be non-negative integers`);
  }
  if (shape.length !== spec.shape.length) {
    throw new InputProblem(
      `has rank ${shape.length} (shape ${boundedShape(shape)}) but the model expects rank ${spec.shape.length} ` +
        `(${boundedShape(spec.shape)})`,
    );
  }
  spec.shape.forEach((expected, i) => {
    if (expected >= 0 && shape[i] !== expected) {
      throw new InputProblem(
        `has shape ${boundedShape(shape)} but the model expects ${boundedShape(spec.shape)}: ` +
          `dimension ${i} must be ${expected}, got ${shape[i]}`,
      );
    }
  });
}

interface ExplicitTensor {
  shape: unknown;
  data: unknown;
  dtype?: unknown;
}

function isExplicit(value: unknown): value is ExplicitTensor {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'data' in value;
}

/**
 * One input as sent, before the model's signature is known: its shape and its values in flat
 * row-major order. All-number tensors (nearly all of them) hold a Float64Array, which loses nothing
 * a JSON number has and moves between processes as raw bytes; anything else keeps the JSON values.
 * A problem found while reading it (not rectangular, a malformed {shape, data}) travels with it, so
 * the decode against the signature reports it beside every other problem.
 */
export type LooseTensor =
  | { dims: number[]; data: Float64Array | unknown[]; declared?: unknown; problem?: undefined }
  /** `rankTooLarge`: the message goes on to name the rank the model expects. */
  | { problem: string; rankTooLarge?: boolean };

/** Inputs read by `loosenInputs`, by name (own keys only, __proto__ included). */
export type LooseInputs = Record<string, LooseTensor>;

/** Flat values of a tensor: numbers into a Float64Array until something else turns up. */
class FlatValues {
  private numbers: Float64Array;
  private values?: unknown[];

  constructor(size: number) {
    this.numbers = new Float64Array(size);
  }

  readonly write = (value: unknown, at: number): void => {
    if (this.values) this.values[at] = value;
    else if (typeof value === 'number') this.numbers[at] = value;
    else {
      this.values = Array.from(this.numbers.subarray(0, at));
      this.values.length = this.numbers.length;
      this.values[at] = value;
    }
  };

  get data(): Float64Array | unknown[] {
    return this.values ?? this.numbers;
  }
}

function loosenOne(value: unknown, budget: { left: number }): LooseTensor {
  let shape: number[];
  let fill: (write: (v: unknown, at: number) => void) => void;
  let declared: unknown;
  if (isExplicit(value)) {
    const extra = Object.keys(value).filter((k) => !['shape', 'data', 'dtype'].includes(k));
    if (extra.length > 0) throw new InputProblem(`has unknown fields ${boundedList(extra)}; use {shape, data, dtype?}`);
    if (!Array.isArray(value.shape)) throw new InputProblem('needs "shape", an array of integers, next to "data"');
    if (!Array.isArray(value.data)) throw new InputProblem('needs "data", a flat row-major array');
    declared = value.dtype;
    shape = value.shape as number[];
    checkDims(shape);
    const data = value.data as unknown[];
    const expected = elementCount(shape);
    if (data.length !== expected) {
      throw new InputProblem(`has ${data.length} values but shape ${boundedShape(shape)} needs ${expected}`);
    }
    fill = (write) => {
      for (let i = 0; i < data.length; i++) write(data[i], i);
    };
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    throw new InputProblem('must be a nested array, a scalar, or {shape, data}');
  } else {
    shape = inferShape(value);
    fill = (write) => flattenNested(value, shape, write);
  }
  const count = elementCount(shape);
  budget.left -= count;
  if (budget.left < 0) throw new OverBudget('makes the request exceed MAX_TENSOR_ELEMENTS');
  const values = new FlatValues(count);
  fill(values.write);
  return declared === undefined ? { dims: shape, data: values.data } : { dims: shape, data: values.data, declared };
}

/** A shape given explicitly: at most MAX_TENSOR_RANK non-negative integers. */
export function checkDims(shape: readonly unknown[]): void {
  if (shape.length > MAX_TENSOR_RANK) {
    throw new RankProblem(
      `has rank ${shape.length} (shape ${boundedShape(shape)}), more than the ${MAX_TENSOR_RANK} accepted`,
    );
  }
  if (shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw new InputProblem(`has an invalid shape ${boundedShape(shape)}: dimensions must be non-negative integers`);
  }
}

/**
 * Reads request inputs without the model's signature (the body names the model, so a large body is
 * read before its version is resolved). `maxElements` bounds the elements across all inputs: a
 * number is MAX_TENSOR_ELEMENTS (a 400 problem), an `ElementCap` a 413 thrown at once.
 */
export function loosenInputs(inputs: unknown, maxElements: number | ElementCap, field = 'inputs'): LooseInputs {
  const cap = typeof maxElements === 'number' ? undefined : maxElements;
  const loose: LooseInputs = {};
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) return loose;
  const budget = { left: cap ? cap.max : (maxElements as number) };
  for (const [name, value] of Object.entries(inputs as Record<string, unknown>)) {
    let tensor: LooseTensor;
    try {
      tensor = loosenOne(value, budget);
    } catch (error) {
      if (error instanceof OverBudget && cap) {
        throw new PayloadTooLargeError(
          `${field}.${boundedName(name)} makes the instance exceed ${cap.variable} (${cap.max} elements)`,
        );
      }
      if (!(error instanceof InputProblem)) throw error;
      tensor =
        error instanceof RankProblem ? { problem: error.message, rankTooLarge: true } : { problem: error.message };
    }
    // defineProperty: an input named __proto__ stays an own key instead of replacing the prototype.
    Object.defineProperty(loose, name, { value: tensor, enumerable: true, writable: true, configurable: true });
  }
  return loose;
}

function conformOne(spec: TensorSpec, tensor: LooseTensor): TensorData {
  if (tensor.problem !== undefined) {
    const expected = `; the model expects rank ${spec.shape.length} (${boundedShape(spec.shape)})`;
    throw new InputProblem(tensor.rankTooLarge ? `${tensor.problem}${expected}` : tensor.problem);
  }
  if (tensor.declared !== undefined && tensor.declared !== spec.dtype) {
    throw new InputProblem(`was sent as ${boundedValue(tensor.declared)} but the model expects ${spec.dtype}`);
  }
  checkShape(spec, tensor.dims);
  const count = tensor.data.length;
  const data = allocate(spec.dtype, count);
  const source = tensor.data;
  const write = writerFor(spec.dtype, data);
  for (let i = 0; i < count; i++) write(source[i], i);
  return { dtype: spec.dtype, dims: tensor.dims, data };
}

/**
 * Checks inputs read by `loosenInputs` against a version's signature and turns them into typed
 * tensors. Every problem is reported at once, each naming its input, in a 400.
 */
export function conformInputs(
  specs: readonly TensorSpec[],
  given: LooseInputs,
  field = 'inputs',
): Record<string, TensorData> {
  const problems: ErrorDetail[] = [];
  const tensors: Record<string, TensorData> = {};
  const known = new Set(specs.map((s) => s.name));
  const unknown = Object.keys(given).filter((name) => !known.has(name));
  for (const name of unknown.slice(0, MAX_SIMILAR_PROBLEMS)) {
    problems.push({
      field: `${field}.${boundedName(name)}`,
      problem: `is not an input of this model; its inputs are ${boundedList([...known])}`,
    });
  }
  if (unknown.length > MAX_SIMILAR_PROBLEMS) {
    problems.push({
      field,
      problem: `has ${unknown.length - MAX_SIMILAR_PROBLEMS} more names that are not inputs of this model`,
    });
  }
  for (const spec of specs) {
    const where = `${field}.${spec.name}`;
    if (!Object.hasOwn(given, spec.name)) {
      problems.push({
        field: where,
        problem: `is missing: the model expects ${spec.dtype} ${boundedShape(spec.shape)}`,
      });
      continue;
    }
    try {
      const tensor = conformOne(spec, given[spec.name]);
      Object.defineProperty(tensors, spec.name, {
        value: tensor,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } catch (error) {
      if (!(error instanceof InputProblem)) throw error;
      problems.push({ field: where, problem: error.message });
    }
  }
  if (problems.length === 0) problems.push(...checkSharedDims(specs, tensors, (name) => `${field}.${name}`));
  if (problems.length > 0) {
    throw new InvalidInputError(problems.map((p) => `${p.field} ${p.problem}`).join('; '), problems);
  }
  return tensors;
}

/**
 * Checks request inputs against a version's signature and turns them into typed tensors. Every
 * problem is reported at once, each naming its input, in a 400. `maxElements` bounds the elements
 * across all inputs: a number is MAX_TENSOR_ELEMENTS (a 400 problem), an `ElementCap` a 413.
 */
export function decodeInputs(
  specs: readonly TensorSpec[],
  inputs: unknown,
  maxElements: number | ElementCap,
  field = 'inputs',
): Record<string, TensorData> {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw new InvalidInputError(`${field} must be an object mapping input names to tensors`, [
      { field, problem: 'must be an object' },
    ]);
  }
  return conformInputs(specs, loosenInputs(inputs, maxElements, field), field);
}

/**
 * Inputs that name the same symbolic dimension (say `batch`) must agree on its size. `label` names
 * an input in the problems (`inputs.x`, `input 'x'`).
 */
export function checkSharedDims(
  specs: readonly TensorSpec[],
  tensors: Record<string, { dims: readonly number[] }>,
  label: (input: string) => string,
): ErrorDetail[] {
  const seen = new Map<string, { input: string; size: number }>();
  const problems: ErrorDetail[] = [];
  for (const spec of specs) {
    spec.dimNames?.forEach((dimName, i) => {
      const tensor = tensors[spec.name];
      if (!dimName || !tensor) return;
      const size = tensor.dims[i];
      const first = seen.get(dimName);
      if (!first) seen.set(dimName, { input: spec.name, size });
      else if (first.size !== size) {
        problems.push({
          field: label(spec.name),
          problem: `has ${dimName}=${size} in dimension ${i} but ${label(first.input)} has ${dimName}=${first.size}`,
        });
      }
    });
  }
  return problems;
}

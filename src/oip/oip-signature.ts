import { boundedList, boundedName, boundedShape, MAX_SIMILAR_PROBLEMS } from '../common/bounded-text';
import { ErrorDetail, InvalidInputError } from '../common/errors';
import type { RawTensor, TensorData } from '../inference/tensor';
import { checkShape, checkSharedDims, InputProblem } from '../inference/tensor-codec';
import type { TensorSpec } from '../inference/tensor-spec';
import { oipDatatypeOf } from './oip-datatypes';
import type { OipInput, OipRequestedOutput } from './oip-types';

/**
 * Checking an infer request read by infer-request.ts against a version's signature. Every
 * problem is reported at once in one 400, each naming its input or output.
 */

function inputLabel(name: string): string {
  return `input '${boundedName(name)}'`;
}

/** Names not in `known`, the first few one by one and the rest counted. */
function unknownNames(given: readonly string[], known: ReadonlySet<string>, kind: 'input' | 'output'): ErrorDetail[] {
  const unknown = given.filter((name) => !known.has(name));
  const problems: ErrorDetail[] = unknown.slice(0, MAX_SIMILAR_PROBLEMS).map((name) => ({
    field: `${kind} '${boundedName(name)}'`,
    problem: `is not an ${kind} of this model; its ${kind}s are ${boundedList([...known])}`,
  }));
  if (unknown.length > MAX_SIMILAR_PROBLEMS) {
    problems.push({
      field: `${kind}s`,
      problem: `name ${unknown.length - MAX_SIMILAR_PROBLEMS} more that are not ${kind}s of this model`,
    });
  }
  return problems;
}

function fail(problems: ErrorDetail[]): never {
  throw new InvalidInputError(problems.map((p) => `${p.field} ${p.problem}`).join('; '), problems);
}

/** The datatype and shape of one input against its spec, as an InputProblem. */
function checkInput(spec: TensorSpec, input: OipInput): void {
  const expected = oipDatatypeOf(spec.dtype);
  if (input.datatype !== expected) {
    throw new InputProblem(`has datatype ${input.datatype} but the model expects ${expected}`);
  }
  checkShape(spec, input.shape);
}

/**
 * Inputs as the engine takes them: numeric and BOOL as raw bytes (the same bytes, no copy),
 * BYTES as string tensors. Refuses unknown and missing inputs, wrong datatypes, ranks and fixed
 * dimensions, and symbolic dimensions (`batch`) that disagree between inputs.
 */
export function conformOipInputs(
  specs: readonly TensorSpec[],
  inputs: readonly OipInput[],
): Record<string, RawTensor | TensorData> {
  const byName = new Map(inputs.map((input) => [input.name, input]));
  const problems = unknownNames(
    inputs.map((input) => input.name),
    new Set(specs.map((spec) => spec.name)),
    'input',
  );
  const tensors: Record<string, RawTensor | TensorData> = {};
  for (const spec of specs) {
    const input = byName.get(spec.name);
    if (input === undefined) {
      problems.push({
        field: inputLabel(spec.name),
        problem: `is missing: the model expects ${oipDatatypeOf(spec.dtype)} ${boundedShape(spec.shape)}`,
      });
      continue;
    }
    try {
      checkInput(spec, input);
    } catch (error) {
      if (!(error instanceof InputProblem)) throw error;
      problems.push({ field: inputLabel(spec.name), problem: error.message });
      continue;
    }
    const { data, shape: dims } = input;
    // defineProperty: an input named __proto__ stays an own key instead of replacing the prototype.
    Object.defineProperty(tensors, spec.name, {
      value: Array.isArray(data) ? { dtype: 'string', dims, data } : { dtype: spec.dtype, dims, bytes: data },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (problems.length === 0) problems.push(...checkSharedDims(specs, tensors, inputLabel));
  if (problems.length > 0) fail(problems);
  return tensors;
}

/** Refuses outputs asked for by a name the model does not have. */
export function checkRequestedOutputs(specs: readonly TensorSpec[], outputs?: readonly OipRequestedOutput[]): void {
  if (outputs === undefined) return;
  const known = new Set(specs.map((spec) => spec.name));
  const problems = unknownNames(
    outputs.map((output) => output.name),
    known,
    'output',
  );
  if (problems.length > 0) fail(problems);
}

import { boundedName, MAX_SIMILAR_PROBLEMS } from '../common/bounded-text';
import { ErrorDetail, InvalidInputError } from '../common/errors';
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from '../models/model-name';
import { readVersionRef, VERSION_REF_RULE, VersionRef } from '../models/version-ref';
import { loosenInputs, MAX_TENSOR_RANK, nestsDeeperThan } from './tensor-codec';
import { hashInputs } from './tensor-hash';
import type { DecodedRequest } from './worker/protocol';

/** The top level of a prediction request body (docs/api.md, "Predictions"). */
export interface PredictEnvelope {
  model: string;
  /** A version number or an alias name. */
  version?: VersionRef;
  inputs: Record<string, unknown>;
  outputs?: string[];
}

const KNOWN_FIELDS = new Set(['model', 'version', 'inputs', 'outputs']);
export const MAX_OUTPUTS = 256;
/** JSON.parse's messages quote part of the body. */
const MAX_PARSE_MESSAGE_CHARS = 200;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Parses and checks a prediction body: on the HTTP thread for small bodies, in an inference
 * process for large ones (so a large JSON body never costs the HTTP thread its parse). Every
 * problem is reported at once, like the DTO validation.
 */
export function parsePredictBody(body: Uint8Array): PredictEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new InvalidInputError(`Malformed JSON body: ${(error as Error).message.slice(0, MAX_PARSE_MESSAGE_CHARS)}`);
  }
  if (!isPlainObject(value)) throw new InvalidInputError('The request body must be a JSON object');
  const problems: ErrorDetail[] = [];
  const unknown = Object.keys(value).filter((key) => !KNOWN_FIELDS.has(key));
  for (const key of unknown.slice(0, MAX_SIMILAR_PROBLEMS)) {
    problems.push({ field: boundedName(key), problem: `property ${boundedName(key)} should not exist` });
  }
  if (unknown.length > MAX_SIMILAR_PROBLEMS) {
    problems.push({
      field: 'body',
      problem: `and ${unknown.length - MAX_SIMILAR_PROBLEMS} more properties that should not exist`,
    });
  }
  const { model, version, inputs, outputs } = value;
  if (typeof model !== 'string' || !MODEL_NAME_PATTERN.test(model)) {
    problems.push({ field: 'model', problem: `model ${MODEL_NAME_RULE}` });
  }
  const ref = readVersionRef(version);
  if (ref === null) problems.push({ field: 'version', problem: `version ${VERSION_REF_RULE}` });
  if (!isPlainObject(inputs)) problems.push({ field: 'inputs', problem: 'inputs must be an object' });
  else problems.push(...tooDeep(inputs));
  if (outputs !== undefined) {
    const valid =
      Array.isArray(outputs) &&
      outputs.length > 0 &&
      outputs.length <= MAX_OUTPUTS &&
      outputs.every((o) => typeof o === 'string') &&
      new Set(outputs).size === outputs.length;
    if (!valid) {
      problems.push({
        field: 'outputs',
        problem: `outputs must be a non-empty array of up to ${MAX_OUTPUTS} distinct output names (omit it for all outputs)`,
      });
    }
  }
  if (problems.length > 0) throw new InvalidInputError(problems.map((p) => p.problem).join('; '), problems);
  return {
    model: model as string,
    version: ref ?? undefined,
    inputs: inputs as Record<string, unknown>,
    outputs: outputs as string[] | undefined,
  };
}

/**
 * Inputs nested deeper than any tensor can be are refused here, before anything walks them: the
 * structured clone that carries small bodies' inputs to a worker recurses, and overflowed its
 * stack (a 500) on a few thousand levels.
 */
function tooDeep(inputs: Record<string, unknown>): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  for (const [name, value] of Object.entries(inputs)) {
    // A tensor is its nested arrays, or {shape, data} around flat arrays: one level more.
    if (nestsDeeperThan(value, MAX_TENSOR_RANK + 1)) {
      const field = `inputs.${boundedName(name)}`;
      problems.push({
        field,
        problem: `${field} is nested deeper than ${MAX_TENSOR_RANK} levels (the largest rank accepted)`,
      });
      if (problems.length === MAX_SIMILAR_PROBLEMS) break;
    }
  }
  return problems;
}

/**
 * A prediction body parsed, checked and its inputs read (not yet against a signature) and hashed:
 * on the HTTP side for small bodies, in an inference process (`decode`) for large ones.
 */
export function readPredictBody(body: Uint8Array, maxElements: number): DecodedRequest {
  const started = performance.now();
  const envelope = parsePredictBody(body);
  const parsed = performance.now();
  const inputs = loosenInputs(envelope.inputs, maxElements);
  const inputHash = hashInputs(inputs);
  return {
    model: envelope.model,
    version: envelope.version,
    outputs: envelope.outputs,
    inputs,
    inputHash,
    parseMs: parsed - started,
    readMs: performance.now() - parsed,
  };
}

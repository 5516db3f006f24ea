import { ErrorDetail, InvalidInputError } from '../../common/errors';
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from '../../models/model-name';

/** The top level of a prediction request body (API.md, Predictions). */
export interface PredictEnvelope {
  model: string;
  version?: number;
  inputs: Record<string, unknown>;
  outputs?: string[];
}

const KNOWN_FIELDS = new Set(['model', 'version', 'inputs', 'outputs']);
const MAX_OUTPUTS = 256;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Parses and checks a prediction body. Runs in an inference worker, so a large JSON body never
 * costs the HTTP thread its parse; every problem is reported at once, like the DTO validation.
 */
export function parsePredictBody(body: Uint8Array): PredictEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new InvalidInputError(`Malformed JSON body: ${(error as Error).message}`);
  }
  if (!isPlainObject(value)) throw new InvalidInputError('The request body must be a JSON object');
  const problems: ErrorDetail[] = [];
  for (const key of Object.keys(value)) {
    if (!KNOWN_FIELDS.has(key)) problems.push({ field: key, problem: `property ${key} should not exist` });
  }
  const { model, version, inputs, outputs } = value;
  if (typeof model !== 'string' || !MODEL_NAME_PATTERN.test(model)) {
    problems.push({ field: 'model', problem: `model ${MODEL_NAME_RULE}` });
  }
  if (
    version !== undefined &&
    (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > 2_147_483_647)
  ) {
    problems.push({ field: 'version', problem: 'version must be a positive integer (omit it for the latest version)' });
  }
  if (!isPlainObject(inputs)) problems.push({ field: 'inputs', problem: 'inputs must be an object' });
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
    version: version as number | undefined,
    inputs: inputs as Record<string, unknown>,
    outputs: outputs as string[] | undefined,
  };
}

import { ErrorDetail, InvalidInputError, PayloadTooLargeError } from '../common/errors';
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from '../models/model-name';
import { readVersionRef, VERSION_REF_RULE, VersionRef } from '../models/version-ref';

/** One instance as the client sent it, with where it came from for error messages. */
export interface RawInstance {
  index: number;
  /** `instances[7]`: the prefix of every problem about this instance. */
  field: string;
  /** ` (line 8)` for an NDJSON upload. */
  where: string;
  inputs: unknown;
}

export interface JobTarget {
  model: string;
  /** A version number or an alias name, resolved once when the job is submitted. */
  version?: VersionRef;
}

export function tooManyInstances(max: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `A job holds at most ${max} instances (JOBS_MAX_INSTANCES); split the submission into several jobs`,
  );
}

function invalid(field: string, problem: string): InvalidInputError {
  return new InvalidInputError(`${field} ${problem}`, [{ field, problem }]);
}

function checkInstance(value: unknown, field: string, where: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(field, `must be an object {"inputs": {...}}${where}`);
  }
  const extra = Object.keys(value).filter((k) => k !== 'inputs');
  if (extra.length > 0)
    throw invalid(`${field}.${extra[0]}`, `is not a field of an instance; send {"inputs": {...}}${where}`);
  if (!('inputs' in value)) throw invalid(`${field}.inputs`, `is missing${where}`);
  return (value as { inputs: unknown }).inputs;
}

/**
 * Checks the JSON envelope `{model, version?, instances}` by hand rather than through a DTO: the
 * validation pipe would deep-copy every tensor value of every instance. Runs in an inference
 * worker, like everything in this file: the HTTP thread never parses a job body.
 */
export function parseJobBody(body: unknown): { target: JobTarget; instances: unknown[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError('The request body must be a JSON object {model, version?, instances}');
  }
  const problems: ErrorDetail[] = [];
  const { model, version, instances, ...rest } = body as Record<string, unknown>;
  for (const key of Object.keys(rest)) problems.push({ field: key, problem: 'is not a field of a job' });
  if (typeof model !== 'string' || !MODEL_NAME_PATTERN.test(model)) {
    problems.push({ field: 'model', problem: MODEL_NAME_RULE });
  }
  const ref = readVersionRef(version);
  if (ref === null) problems.push({ field: 'version', problem: VERSION_REF_RULE });
  if (!Array.isArray(instances))
    problems.push({ field: 'instances', problem: 'must be an array of {"inputs": {...}}' });
  else if (instances.length === 0) problems.push({ field: 'instances', problem: 'must hold at least one instance' });
  if (problems.length > 0) {
    throw new InvalidInputError(problems.map((p) => `${p.field} ${p.problem}`).join('; '), problems);
  }
  return {
    target: { model: model as string, version: ref ?? undefined },
    instances: instances as unknown[],
  };
}

/** Parses a raw JSON job body (bytes as sent) and checks its envelope. */
export function parseJobBytes(body: Uint8Array): { target: JobTarget; instances: unknown[] } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new InvalidInputError(`Malformed JSON body: ${(error as Error).message}`);
  }
  return parseJobBody(value);
}

export function* fromArray(instances: readonly unknown[]): Iterable<RawInstance> {
  for (let index = 0; index < instances.length; index++) {
    const field = `instances[${index}]`;
    yield { index, field, where: '', inputs: checkInstance(instances[index], field, '') };
  }
}

/**
 * The instances of one batch of NDJSON lines (see ndjson-batches.ts): one `{"inputs": {...}}` per
 * line, blank lines skipped. `firstLine` and `firstIndex` number the batch's first line (from 1)
 * and first instance (from 0) within the whole upload. Runs in an inference worker.
 */
export function* fromNdjsonBatch(bytes: Uint8Array, firstLine: number, firstIndex: number): Iterable<RawInstance> {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let index = firstIndex;
  let lineNo = firstLine - 1;
  // A newline byte never occurs inside a multi-byte character, so splitting the text is exact.
  for (let start = 0; start < text.length;) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end === -1 ? text.length : end);
    start = end === -1 ? text.length : end + 1;
    lineNo++;
    if (line.trim() === '') continue;
    const field = `instances[${index}]`;
    const where = ` (line ${lineNo})`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw invalid(field, `is not valid JSON${where}: ${(error as Error).message}`);
    }
    yield { index, field, where, inputs: checkInstance(value, field, where) };
    index++;
  }
}

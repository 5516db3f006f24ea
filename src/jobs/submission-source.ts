import type { Readable } from 'node:stream';
import { ErrorDetail, InvalidInputError, PayloadTooLargeError } from '../common/errors';
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from '../models/model-name';

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
  version?: number;
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
 * validation pipe would deep-copy every tensor value of every instance on the HTTP thread.
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
  if (version !== undefined && (!Number.isInteger(version) || (version as number) < 1)) {
    problems.push({ field: 'version', problem: 'must be a positive integer' });
  }
  if (!Array.isArray(instances))
    problems.push({ field: 'instances', problem: 'must be an array of {"inputs": {...}}' });
  else if (instances.length === 0) problems.push({ field: 'instances', problem: 'must hold at least one instance' });
  if (problems.length > 0) {
    throw new InvalidInputError(problems.map((p) => `${p.field} ${p.problem}`).join('; '), problems);
  }
  return {
    target: { model: model as string, version: version as number | undefined },
    instances: instances as unknown[],
  };
}

export function* fromArray(instances: readonly unknown[]): Iterable<RawInstance> {
  for (let index = 0; index < instances.length; index++) {
    const field = `instances[${index}]`;
    yield { index, field, where: '', inputs: checkInstance(instances[index], field, '') };
  }
}

/**
 * Splits a byte stream into lines as it arrives; a line longer than `maxLineBytes` stops the
 * upload with 413 instead of growing without bound.
 */
export async function* readLines(stream: Readable, maxLineBytes: number): AsyncIterable<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Not destroyed when we stop early: the caller drains the rest so the client gets the answer.
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, nl));
      pendingBytes += nl - start;
      if (pendingBytes > maxLineBytes) break;
      yield Buffer.concat(pending, pendingBytes).toString('utf8');
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
    }
    if (pendingBytes > maxLineBytes || pendingBytes + chunk.length - start > maxLineBytes) {
      throw new PayloadTooLargeError(`A line of the NDJSON upload exceeds MAX_JSON_BODY_BYTES (${maxLineBytes} bytes)`);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes).toString('utf8');
}

/** NDJSON upload: one `{"inputs": {...}}` per line; blank lines are skipped. */
export async function* fromNdjson(lines: AsyncIterable<string>): AsyncIterable<RawInstance> {
  let index = 0;
  let lineNo = 0;
  for await (const line of lines) {
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

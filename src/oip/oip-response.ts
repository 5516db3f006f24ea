import { stringify } from 'lossless-json';
import type { OipInferResult, OipOutput } from './oip-types';

/** An infer response as bytes: the JSON part, then the binary outputs' bytes in order. */
export interface InferResponseBody {
  chunks: Uint8Array[];
  byteLength: number;
  /** Set when binary outputs follow the JSON: its length, for Inference-Header-Content-Length. */
  headerLength?: number;
}

/** Parameters of the protocol itself, which say how to frame tensors: not passed through. */
const FRAMING_PARAMETERS = new Set(['binary_data_output', 'binary_data', 'binary_data_size']);

/** The request's parameters as a response passes them back: without those that frame tensors. */
export function returnedParameters(
  parameters: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!parameters) return undefined;
  const kept = Object.entries(parameters).filter(([key]) => !FRAMING_PARAMETERS.has(key));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

function outputJson(output: OipOutput): string {
  const head = `{"name":${JSON.stringify(output.name)},"datatype":"${output.datatype}","shape":${JSON.stringify(output.shape)}`;
  if (output.binary) return `${head},"parameters":{"binary_data_size":${output.raw.byteLength}}}`;
  return `${head},"data":${output.json ?? '[]'}}`;
}

/**
 * The response of an infer (the protocol's `{model_name, model_version, id, parameters, outputs}`),
 * with each output's data already JSON text or raw bytes, so nothing is encoded twice.
 */
export function inferResponseBody(result: OipInferResult): InferResponseBody {
  // lossless-json writes a parameter given as digits past 2^53 (read as a BigInt) back exactly.
  const json =
    `{"model_name":${JSON.stringify(result.modelName)},"model_version":${JSON.stringify(result.modelVersion)}` +
    (result.id === undefined ? '' : `,"id":${JSON.stringify(result.id)}`) +
    (result.parameters === undefined ? '' : `,"parameters":${stringify(result.parameters)}`) +
    `,"outputs":[${result.outputs.map(outputJson).join(',')}]}`;
  const header = Buffer.from(json, 'utf8');
  const binary = result.outputs.filter((output) => output.binary).map((output) => output.raw);
  const byteLength = binary.reduce((n, raw) => n + raw.byteLength, header.byteLength);
  if (binary.length === 0) return { chunks: [header], byteLength };
  return { chunks: [header, ...binary], byteLength, headerLength: header.byteLength };
}

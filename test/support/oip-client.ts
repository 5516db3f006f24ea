/**
 * A small client of the Open Inference Protocol over REST (KServe v2), with the binary tensor data
 * extension both ways, written for the conformance suite and the benchmark. It speaks the wire as
 * Triton's and KServe's clients do; the framing itself is test/support/oip-wire.ts.
 */
import type { OipDatatype } from '../../src/oip/oip-datatypes';
import type { OipModelMetadata, OipServerMetadata } from '../../src/oip/oip-types';
import { bytesOf, decodeInferResponse, valuesOf, WireValue } from './oip-wire';

export type { WireValue };

/** An input tensor: its values in row-major order, typed as oip-wire's bytesOf takes them. */
export interface OipTensor {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  data: WireValue[];
  /** This input as binary data or JSON, whatever the request's `binaryInputs` says. */
  binary?: boolean;
}

/** An output asked for by name; `binary` sets its `binary_data` parameter (absent: the request's choice). */
export interface OipOutputRequest {
  name: string;
  binary?: boolean;
  parameters?: Record<string, unknown>;
}

export interface InferOptions {
  /** A version number or alias, put in the path. */
  version?: string;
  inputs: OipTensor[];
  outputs?: OipOutputRequest[];
  /** Send every input as binary data (else JSON `data`). */
  binaryInputs?: boolean;
  /** JSON `data` nested by the shape, as clients holding nested lists send it (default: flat). */
  nestedData?: boolean;
  /** Ask every output as binary data (`binary_data_output: true` in the request parameters). */
  binaryOutputs?: boolean;
  id?: string;
  parameters?: Record<string, unknown>;
  /** Extra headers (credentials, Cache-Control, a Content-Type of the caller's choice). */
  headers?: Record<string, string>;
  /** The Content-Type sent; null sends none, as Triton's Python client does. Default: JSON or octet-stream. */
  contentType?: string | null;
}

/** One output of an answer, whichever form it came in. */
export interface OipResultTensor {
  datatype: OipDatatype;
  shape: number[];
  values: WireValue[];
  /** Whether it came as binary data rather than JSON `data`. */
  binary: boolean;
}

export interface InferAnswer {
  status: number;
  headers: Headers;
  /** The JSON part of the answer: the response header, or the error body. */
  header: Record<string, unknown>;
  /** Outputs by name, in the order the answer lists them (empty for an error). */
  outputs: Map<string, OipResultTensor>;
}

/** A request ready to send: path, headers and body, so load generators can send it many times. */
export interface InferRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export const HEADER_LENGTH = 'Inference-Header-Content-Length';

/** `/v2/models/{m}` or `/v2/models/{m}/versions/{v}`. */
export function modelPath(model: string, version?: string): string {
  const base = `/v2/models/${encodeURIComponent(model)}`;
  return version === undefined ? base : `${base}/versions/${encodeURIComponent(version)}`;
}

/** Elements (JSON texts) nested into arrays of the given shape; a rank-0 shape gives the bare element. */
function nestJson(items: string[], shape: readonly number[]): string {
  if (shape.length === 0) return items[0];
  const [first, ...rest] = shape;
  const stride = rest.reduce((n, d) => n * d, 1);
  return `[${Array.from({ length: first }, (_, i) => nestJson(items.slice(i * stride, (i + 1) * stride), rest)).join(',')}]`;
}

/**
 * JSON `data` of a tensor, flat or nested. JSON has no 64-bit integers, but the protocol sends them
 * as plain numbers (Triton's client writes numpy's exact digits): bigints become such digits here.
 */
function jsonData(tensor: OipTensor, nested: boolean): string {
  const items = tensor.data.map((v) => (typeof v === 'bigint' ? v.toString() : JSON.stringify(v)));
  return nested ? nestJson(items, tensor.shape) : `[${items.join(',')}]`;
}

/** A placeholder string left where a `data` array is spliced in after JSON.stringify. */
const dataMark = (i: number) => `@@oip-data-${i}@@`;

/** The JSON header and binary parts of an infer request, as the client options describe them. */
function requestParts(options: InferOptions): { json: string; binaries: Buffer[] } {
  const binaries: Buffer[] = [];
  const data: string[] = [];
  const inputs = options.inputs.map((tensor) => {
    const { name, datatype, shape } = tensor;
    if (!(tensor.binary ?? options.binaryInputs)) {
      data.push(jsonData(tensor, options.nestedData ?? false));
      return { name, datatype, shape, data: dataMark(data.length - 1) };
    }
    const bytes = bytesOf(datatype, tensor.data);
    binaries.push(bytes);
    return { name, datatype, shape, parameters: { binary_data_size: bytes.length } };
  });
  const parameters =
    options.binaryOutputs || options.parameters
      ? { ...options.parameters, ...(options.binaryOutputs ? { binary_data_output: true } : {}) }
      : undefined;
  const outputs = options.outputs?.map(({ name, binary, parameters: own }) =>
    binary === undefined && !own
      ? { name }
      : { name, parameters: { ...own, ...(binary === undefined ? {} : { binary_data: binary }) } },
  );
  let json = JSON.stringify({ id: options.id, parameters, inputs, outputs });
  data.forEach((text, i) => (json = json.replace(`"${dataMark(i)}"`, () => text)));
  return { json, binaries };
}

/** Builds the request `infer` sends: JSON alone, or the JSON header followed by the binary tensors. */
export function inferRequest(model: string, options: InferOptions): InferRequest {
  const { json, binaries } = requestParts(options);
  const headers: Record<string, string> = {};
  let body: Buffer;
  if (binaries.length === 0) {
    body = Buffer.from(json);
    if (options.contentType !== null) headers['Content-Type'] = options.contentType ?? 'application/json';
  } else {
    // Framed here rather than by encodeInferBody, which takes an object: JSON `data` beside binary
    // inputs may hold 64-bit integers that only the text written above keeps exact.
    const header = Buffer.from(json, 'utf8');
    body = Buffer.concat([header, ...binaries]);
    headers[HEADER_LENGTH] = String(header.length);
    if (options.contentType !== null) headers['Content-Type'] = options.contentType ?? 'application/octet-stream';
  }
  return { path: `${modelPath(model, options.version)}/infer`, headers: { ...headers, ...options.headers }, body };
}

/** A JSON string, or a number token (strings first, so digits inside them are left alone). */
const JSON_TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * Parses JSON keeping integers too long for a double exact: they become strings, which the
 * datatype-aware conversion below turns into bigints (INT64/UINT64) or numbers.
 */
function parseLossless(text: string): Record<string, unknown> {
  const quoted = text.replace(JSON_TOKEN, (token) => (/^-?\d{16,}$/.test(token) ? `"${token}"` : token));
  return JSON.parse(quoted) as Record<string, unknown>;
}

function flatten(data: unknown): unknown[] {
  return Array.isArray(data) ? data.flatMap(flatten) : [data];
}

/** JSON `data` in the form valuesOf gives binary data, so both forms compare equal. */
function jsonValues(datatype: OipDatatype, data: unknown): WireValue[] {
  const flat = flatten(data);
  switch (datatype) {
    case 'INT64':
    case 'UINT64':
      return flat.map((v) => BigInt(v as number | string)) as WireValue[];
    case 'BOOL':
      return flat.map((v) => v === true) as WireValue[];
    case 'BYTES':
      return flat.map(String) as WireValue[];
    default:
      return flat.map(Number) as WireValue[];
  }
}

interface ResponseOutput {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  data?: unknown;
  parameters?: { binary_data_size?: number };
}

/** Splits an answer into its JSON header and outputs (binary parts by the header length). */
export function decodeAnswer(status: number, headers: Headers, body: Buffer): InferAnswer {
  const length = headers.get(HEADER_LENGTH);
  if (body.length === 0) return { status, headers, header: {}, outputs: new Map() };
  const headerLength = length === null ? undefined : Number(length);
  const { binaries } = decodeInferResponse(body, headerLength);
  // decodeInferResponse checked the framing; the header is read again keeping long integers exact.
  const header = parseLossless(body.subarray(0, headerLength ?? body.length).toString('utf8'));
  const outputs = new Map<string, OipResultTensor>();
  for (const output of (header.outputs ?? []) as ResponseOutput[]) {
    const bytes = binaries.get(output.name);
    outputs.set(output.name, {
      datatype: output.datatype,
      shape: output.shape,
      values: bytes ? valuesOf(output.datatype, bytes) : jsonValues(output.datatype, output.data),
      binary: bytes !== undefined,
    });
  }
  return { status, headers, header, outputs };
}

/** POSTs a request as built (or hand-made) and decodes the answer. */
export async function send(baseUrl: string, request: InferRequest): Promise<InferAnswer> {
  const res = await fetch(`${baseUrl}${request.path}`, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  return decodeAnswer(res.status, res.headers, Buffer.from(await res.arrayBuffer()));
}

/** POST /v2/models/{m}[/versions/{v}]/infer. */
export function infer(baseUrl: string, model: string, options: InferOptions): Promise<InferAnswer> {
  return send(baseUrl, inferRequest(model, options));
}

export interface GetAnswer<T> {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined when the body is empty. */
  body: T | undefined;
  text: string;
}

async function get<T>(baseUrl: string, path: string, headers: Record<string, string>): Promise<GetAnswer<T>> {
  const res = await fetch(`${baseUrl}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as T), text };
}

/** GET /v2/health/live or /v2/health/ready (public; the status code is the answer). */
export function health(baseUrl: string, probe: 'live' | 'ready'): Promise<GetAnswer<never>> {
  return get(baseUrl, `/v2/health/${probe}`, {});
}

/** GET /v2. */
export function serverMetadata(baseUrl: string, headers: Record<string, string> = {}) {
  return get<OipServerMetadata>(baseUrl, '/v2', headers);
}

/** GET /v2/models/{m}[/versions/{v}]. */
export function modelMetadata(baseUrl: string, model: string, version?: string, headers: Record<string, string> = {}) {
  return get<OipModelMetadata>(baseUrl, modelPath(model, version), headers);
}

/** GET /v2/models/{m}[/versions/{v}]/ready (the status code is the answer). */
export function modelReady(baseUrl: string, model: string, version?: string, headers: Record<string, string> = {}) {
  return get<never>(baseUrl, `${modelPath(model, version)}/ready`, headers);
}

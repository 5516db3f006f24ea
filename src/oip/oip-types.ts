import type { OipDatatype } from './oip-datatypes';

/**
 * An infer request of the Open Inference Protocol, read from either transport (REST JSON, REST
 * with the binary tensor data extension, gRPC) and not yet checked against a model's signature.
 */
export interface OipInferRequest {
  /** Echoed in the response. */
  id?: string;
  /** Request parameters, passed through (binary_data_output is read into `binaryOutputs`). */
  parameters?: Record<string, unknown>;
  inputs: OipInput[];
  /** Outputs asked for by name, in order; undefined asks for every output of the model. */
  outputs?: OipRequestedOutput[];
  /** `binary_data_output: true`: every output not asked for otherwise is sent as binary data. */
  binaryOutputs: boolean;
}

export interface OipInput {
  name: string;
  datatype: OipDatatype;
  /** Checked: non-negative safe integers, at most MAX_TENSOR_RANK of them. */
  shape: number[];
  /**
   * Numeric and BOOL tensors: the elements as little-endian bytes, row-major (for binary data, a
   * view of the request body; no copy). BYTES tensors: the elements, decoded as UTF-8.
   */
  data: Uint8Array | string[];
  parameters?: Record<string, unknown>;
}

export interface OipRequestedOutput {
  name: string;
  /** Send this output as binary data (its `binary_data` parameter, else the request's `binary_data_output`). */
  binary: boolean;
  parameters?: Record<string, unknown>;
}

/** One output as the engine produced it. */
export interface OipOutput {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  /** Little-endian element bytes (BYTES: each element as a 4-byte length then its bytes). */
  raw: Uint8Array;
  /** The `data` array as JSON text, when the output goes out as JSON. */
  json?: string;
  /** Whether it goes out as binary data (REST) / raw_output_contents (gRPC). */
  binary: boolean;
}

/** What an infer answered, before a transport frames it. */
export interface OipInferResult {
  modelName: string;
  /** The version that ran, as a string (the protocol's form). */
  modelVersion: string;
  id?: string;
  /** The request's parameters, passed back without those that frame tensors (binary_data_output). */
  parameters?: Record<string, unknown>;
  outputs: OipOutput[];
  cache: 'HIT' | 'MISS' | 'BYPASS';
  /** Milliseconds per stage, for Server-Timing. */
  stages: Record<string, number>;
}

export interface OipTensorMetadata {
  name: string;
  datatype: OipDatatype;
  /** -1 for a dynamic dimension. */
  shape: number[];
}

export interface OipModelMetadata {
  name: string;
  versions: string[];
  platform: 'onnxruntime_onnx';
  inputs: OipTensorMetadata[];
  outputs: OipTensorMetadata[];
}

export interface OipServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

import * as path from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * proto/grpc_predict_v2.proto at the repository root (the Docker image copies it beside dist/).
 * Code runs compiled, from dist/src/oip/grpc.
 */
export const GRPC_PREDICT_V2_PROTO = path.resolve(__dirname, '../../../../proto/grpc_predict_v2.proto');

/** The full name of the service, as clients address its methods (`/inference.GRPCInferenceService/ModelInfer`). */
export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';

/**
 * How messages become objects (the types below): field names as in the .proto, int64 as decimal
 * strings (exact past 2^53), bytes as Buffers that view the received message (no copy), every
 * scalar and repeated field present, and the name of the set oneof member.
 */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The service's methods, serializers included, read from the .proto: for the server and for clients. */
export function inferenceServiceDefinition(): ServiceDefinition {
  const definitions = protoLoader.loadSync(GRPC_PREDICT_V2_PROTO, PROTO_LOADER_OPTIONS);
  return definitions[INFERENCE_SERVICE] as ServiceDefinition;
}

// The messages as proto-loader reads and writes them with PROTO_LOADER_OPTIONS: snake_case names,
// int64 as decimal strings when read (numbers or strings when written), every field present when read.

/** int64 / uint64: a decimal string when read; a number or a string when written. */
export type Int64 = string | number;

/** One InferParameter: exactly one member set, named by `parameter_choice` when read. */
export interface InferParameterMessage {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
}

export type InferParameters = Record<string, InferParameterMessage>;

export interface InferTensorContentsMessage {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

export interface InferInputTensorMessage {
  name: string;
  datatype: string;
  shape: string[];
  parameters: InferParameters;
  contents: InferTensorContentsMessage | null;
}

export interface InferRequestedOutputTensorMessage {
  name: string;
  parameters: InferParameters;
}

export interface ModelInferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters: InferParameters;
  inputs: InferInputTensorMessage[];
  outputs: InferRequestedOutputTensorMessage[];
  raw_input_contents: Buffer[];
}

export interface InferOutputTensorMessage {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: InferParameters;
}

export interface ModelInferResponseMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: InferParameters;
  outputs: InferOutputTensorMessage[];
  raw_output_contents: Uint8Array[];
}

/** ModelReadyRequest and ModelMetadataRequest: `version` empty when the server chooses. */
export interface ModelRequestMessage {
  name: string;
  version: string;
}

export interface TensorMetadataMessage {
  name: string;
  datatype: string;
  shape: Int64[];
}

export interface ModelMetadataResponseMessage {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadataMessage[];
  outputs: TensorMetadataMessage[];
}

export interface ServerMetadataResponseMessage {
  name: string;
  version: string;
  extensions: string[];
}

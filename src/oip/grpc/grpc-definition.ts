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
 * How messages become objects (the types in grpc-messages.ts): field names as in the .proto,
 * int64 as decimal strings (exact past 2^53), bytes as Buffers that view the received message
 * (no copy), every scalar and repeated field present, and the name of the set oneof member.
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

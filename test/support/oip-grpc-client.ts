/**
 * A small client of inference.GRPCInferenceService for the specs and the benchmark: a real
 * @grpc/grpc-js client on the same .proto as the server, each method a promise of its response
 * and trailing metadata, or a rejection with the call's status (`code`, `details`, `metadata`).
 */
import {
  ChannelOptions,
  credentials,
  Client,
  makeGenericClientConstructor,
  Metadata,
  ServiceError,
  status as GrpcStatus,
} from '@grpc/grpc-js';
import { dtypeOfOip, OipDatatype } from '../../src/oip/oip-datatypes';
import {
  inferenceServiceDefinition,
  ModelInferRequestMessage,
  ModelMetadataResponseMessage,
  ModelRequestMessage,
  ServerMetadataResponseMessage,
} from '../../src/oip/grpc/grpc-definition';
import { valuesOf } from './oip-wire';
import type { JsonTensor } from './reference-run';

export { GrpcStatus };
export type { ServiceError };

/** A ModelInferRequest as a client writes it: every field optional, shapes as numbers. */
export type InferRequest = Partial<Omit<ModelInferRequestMessage, 'inputs' | 'outputs' | 'raw_input_contents'>> & {
  inputs: Array<{
    name: string;
    datatype: string;
    shape: number[];
    parameters?: ModelInferRequestMessage['parameters'];
    contents?: Partial<Record<string, unknown[]>>;
  }>;
  outputs?: Array<{ name: string; parameters?: ModelInferRequestMessage['parameters'] }>;
  raw_input_contents?: Uint8Array[];
};

/** A ModelInferResponse as read (int64 shapes as decimal strings, raw outputs as Buffers). */
export interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, unknown>;
  outputs: Array<{ name: string; datatype: string; shape: string[]; parameters: Record<string, unknown> }>;
  raw_output_contents: Buffer[];
}

export interface Answer<T> {
  response: T;
  trailers: Metadata;
}

export interface CallOptions {
  /** Metadata entries (say `authorization: Bearer …`) besides the client's credential. */
  metadata?: Record<string, string>;
  deadline?: Date;
}

type UnaryMethod = (
  request: unknown,
  metadata: Metadata,
  options: { deadline?: Date },
  callback: (error: ServiceError | null, response: unknown) => void,
) => { on(event: 'status', listener: (status: { metadata: Metadata }) => void): void };

export class OipGrpcClient {
  private readonly client: Client & Record<string, UnaryMethod>;

  /**
   * `credential` goes out as `authorization: Bearer <credential>` on every call, unless a call
   * sets its own; `options` are grpc-js channel options (compression, say).
   */
  constructor(
    address: string,
    private readonly credential?: string,
    options: ChannelOptions = {},
  ) {
    const Constructor = makeGenericClientConstructor(inferenceServiceDefinition(), 'GRPCInferenceService');
    // Outputs of large models exceed grpc-js's default 4 MiB limit on received messages.
    this.client = new Constructor(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      ...options,
    }) as Client & Record<string, UnaryMethod>;
  }

  serverLive(options?: CallOptions): Promise<Answer<{ live: boolean }>> {
    return this.call('ServerLive', {}, options);
  }

  serverReady(options?: CallOptions): Promise<Answer<{ ready: boolean }>> {
    return this.call('ServerReady', {}, options);
  }

  serverMetadata(options?: CallOptions): Promise<Answer<ServerMetadataResponseMessage>> {
    return this.call('ServerMetadata', {}, options);
  }

  modelMetadata(
    request: Partial<ModelRequestMessage>,
    options?: CallOptions,
  ): Promise<Answer<ModelMetadataResponseMessage>> {
    return this.call('ModelMetadata', request, options);
  }

  modelReady(request: Partial<ModelRequestMessage>, options?: CallOptions): Promise<Answer<{ ready: boolean }>> {
    return this.call('ModelReady', request, options);
  }

  modelInfer(request: InferRequest, options?: CallOptions): Promise<Answer<InferResponse>> {
    return this.call('ModelInfer', request, options);
  }

  close(): void {
    this.client.close();
  }

  private call<T>(method: string, request: unknown, options: CallOptions = {}): Promise<Answer<T>> {
    const metadata = new Metadata();
    if (this.credential !== undefined) metadata.set('authorization', `Bearer ${this.credential}`);
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
    return new Promise((resolve, reject) => {
      let response: T | undefined;
      const call = this.client[method](request, metadata, { deadline: options.deadline }, (error, value) => {
        if (error) reject(error);
        else response = value as T;
      });
      // The status (with the trailers) arrives after the response.
      call.on('status', (status) => {
        if (response !== undefined) resolve({ response, trailers: status.metadata });
      });
    });
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The outputs of a ModelInferResponse in the JSON form of reference-run.ts (`{dtype, shape,
 * data}`, 64-bit integers past 2^53 as decimal strings), decoded from raw_output_contents.
 */
export function outputsAsJson(response: InferResponse): Record<string, JsonTensor> {
  const outputs: Record<string, JsonTensor> = {};
  response.outputs.forEach((output, i) => {
    const datatype = output.datatype as OipDatatype;
    const data = valuesOf(datatype, response.raw_output_contents[i]).map((value) =>
      typeof value === 'bigint' ? (value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value.toString()) : value,
    );
    outputs[output.name] = { dtype: dtypeOfOip(datatype), shape: output.shape.map(Number), data };
  });
  return outputs;
}

import { Server, ServerCredentials, setLogger } from '@grpc/grpc-js';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig, GrpcConfig } from '../../config/app-config';
import { inferenceServiceDefinition, INFERENCE_SERVICE } from './grpc-definition';
import { OipGrpcServicer } from './oip-grpc.servicer';

/** `host:port`, with an IPv6 host in brackets. */
function addressOf(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Binds the port; a failure (the port in use, say) says which setting to change. */
function bind(server: Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error) =>
      error
        ? reject(new Error(`gRPC cannot listen on ${address} (GRPC_PORT; 0 turns gRPC off): ${error.message}`))
        : resolve(),
    );
  });
}

/** In-flight calls finish (no new ones start) for up to `graceMs`; then the rest are cancelled. */
function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

/**
 * The gRPC server of the API role: inference.GRPCInferenceService on HOST:GRPC_PORT (none when
 * GRPC_PORT=0), plaintext like the HTTP port (TLS ends at the proxy in front). Requests larger than
 * MAX_JSON_BODY_BYTES are refused by grpc-js with RESOURCE_EXHAUSTED before they are decoded.
 * It binds once the application has started and stops before the HTTP server closes, letting
 * in-flight calls finish for up to SHUTDOWN_GRACE_MS.
 */
@Injectable()
export class OipGrpcServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OipGrpcServer.name);
  private readonly settings: GrpcConfig;
  private readonly graceMs: number;
  private server?: Server;

  constructor(
    private readonly servicer: OipGrpcServicer,
    config: AppConfig,
  ) {
    this.settings = config.grpc;
    this.graceMs = config.shutdown.graceMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { host, port, maxReceiveMessageBytes } = this.settings;
    if (port === 0) return;
    // grpc-js prints its own diagnostics on stderr; they belong in the structured log.
    const detail = (...args: unknown[]) => ({ msg: 'grpc-js', detail: args.map(String).join(' ') });
    setLogger({
      error: (...args: unknown[]) => this.logger.warn(detail(...args)),
      info: (...args: unknown[]) => this.logger.log(detail(...args)),
      debug: (...args: unknown[]) => this.logger.debug(detail(...args)),
    });
    const server = new Server({ 'grpc.max_receive_message_length': maxReceiveMessageBytes });
    server.addService(inferenceServiceDefinition(), this.servicer.implementation());
    await bind(server, addressOf(host, port));
    this.server = server;
    this.logger.log({ msg: 'gRPC listening', grpcService: INFERENCE_SERVICE, host, port });
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await shutdown(server, this.graceMs);
  }
}

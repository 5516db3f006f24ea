import {
  handleUnaryCall,
  Metadata,
  sendUnaryData,
  status as GrpcStatus,
  ServerUnaryCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { Injectable, Logger } from '@nestjs/common';
import type { AccessRule } from '../../auth/access.decorator';
import type { Caller } from '../../auth/caller';
import { BodyBudget } from '../../common/body-reader';
import { InvalidInputError, TimeoutError, UnavailableError } from '../../common/errors';
import { requestIdFrom } from '../../common/request-id';
import { internalDetail } from '../../common/safe-error';
import { AppConfig } from '../../config/app-config';
import { trafficPick } from '../../models/traffic-policy';
import { cacheControlBypasses, serverTiming } from '../../predictions/prediction-context';
import { OipService } from '../oip.service';
import { GrpcAccess, INFER_ACCESS, READ_ACCESS } from './grpc-access';
import { inferRequestOf, inferResponseOf, tensorBytes } from './grpc-infer';
import type { ModelInferRequestMessage, ModelInferResponseMessage, ModelRequestMessage } from './grpc-definition';
import { grpcStatusOf } from './grpc-status';

type AnyCall = ServerUnaryCall<unknown, unknown>;

/** What a handler gets besides the request: its caller, and where its trailing metadata goes. */
interface CallScope {
  call: AnyCall;
  requestId: string;
  /** process.hrtime.bigint() when the call reached the handler. */
  receivedAt: bigint;
  trailers: Metadata;
}

/** An empty version field: the server chooses (the model's traffic split, else the latest ready version). */
function versionOf(version: string): string | undefined {
  return version === '' ? undefined : version;
}

function firstString(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : undefined;
}

/**
 * inference.GRPCInferenceService on OipService, the data plane REST /v2 uses too: each method
 * decodes its message, calls one OipService method and encodes the answer. Access is that of the
 * matching REST route: ServerLive and ServerReady are public (as /v2/health/*); ServerMetadata,
 * ModelMetadata and ModelReady need any role (as GET /v2 and /v2/models/...); ModelInfer needs
 * predictor, maintainer or admin. Every call answers its request id as `x-request-id`.
 */
@Injectable()
export class OipGrpcServicer {
  private readonly logger = new Logger(OipGrpcServicer.name);
  private readonly maxTensorElements: number;

  constructor(
    private readonly oip: OipService,
    private readonly access: GrpcAccess,
    private readonly budget: BodyBudget,
    config: AppConfig,
  ) {
    this.maxTensorElements = config.inference.maxTensorElements;
  }

  implementation(): UntypedServiceImplementation {
    return {
      ServerLive: this.publicCall(() => Promise.resolve({ live: true })),
      ServerReady: this.publicCall(async () => ({ ready: await this.oip.serverReady() })),
      ServerMetadata: this.privateCall(READ_ACCESS, () => Promise.resolve(this.oip.serverMetadata())),
      ModelMetadata: this.privateCall(READ_ACCESS, (request: ModelRequestMessage, caller) =>
        this.oip.modelMetadata(caller, request.name, versionOf(request.version)),
      ),
      ModelReady: this.privateCall(READ_ACCESS, async (request: ModelRequestMessage, caller) => ({
        ready: await this.oip.modelReady(caller, request.name, versionOf(request.version)),
      })),
      ModelInfer: this.privateCall(INFER_ACCESS, (request: ModelInferRequestMessage, caller, scope) =>
        this.infer(request, caller, scope),
      ),
    };
  }

  private async infer(
    message: ModelInferRequestMessage,
    caller: Caller,
    scope: CallScope,
  ): Promise<ModelInferResponseMessage> {
    if (message.model_name === '') throw new InvalidInputError('model_name is required');
    // The deadline may have passed while the credential was checked: nobody waits for an answer then.
    if (scope.call.cancelled) throw new TimeoutError('The call was cancelled or its deadline passed before inference');
    const version = versionOf(message.model_version);
    // The message stays in memory until the answer: it holds its share of MAX_INFLIGHT_BODY_BYTES,
    // as an HTTP body does, so waiting calls cannot pile up past the budget.
    const held = tensorBytes(message);
    if (!this.budget.tryReserve(held)) {
      throw new UnavailableError(
        'The server is holding too many request bodies at once (MAX_INFLIGHT_BODY_BYTES); retry shortly',
        1,
      );
    }
    const read = () => Promise.resolve(inferRequestOf(message, { left: this.maxTensorElements }));
    let result;
    try {
      result = await this.oip.infer(caller, message.model_name, version, read, {
        protocol: 'oip-grpc',
        requestId: scope.requestId,
        bypassCache: cacheControlBypasses(firstString(scope.call.metadata, 'cache-control')),
        receivedAt: scope.receivedAt,
        traffic: trafficPick((name) => firstString(scope.call.metadata, name)),
      });
    } finally {
      this.budget.release(held);
    }
    scope.trailers.set('x-cache', result.cache);
    scope.trailers.set('server-timing', serverTiming(result.stages));
    return inferResponseOf(result);
  }

  private publicCall<Res>(handle: () => Promise<Res>): handleUnaryCall<unknown, Res> {
    return (call, callback) => this.respond(call, callback, () => handle());
  }

  private privateCall<Req, Res>(
    rule: AccessRule,
    handle: (request: Req, caller: Caller, scope: CallScope) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    return (call, callback) =>
      this.respond(call, callback, async (scope) => {
        const caller = await this.access.callerOf(call.metadata, rule, scope.requestId, scope.trailers);
        return handle(call.request, caller, scope);
      });
  }

  /** Runs `work` and answers its result, or the status of its error, with the call's trailers. */
  private respond<Req, Res>(
    call: ServerUnaryCall<Req, Res>,
    callback: sendUnaryData<Res>,
    work: (scope: CallScope) => Promise<Res>,
  ): void {
    const receivedAt = process.hrtime.bigint();
    const requestId = requestIdFrom(firstString(call.metadata, 'x-request-id'));
    const trailers = new Metadata();
    trailers.set('x-request-id', requestId);
    work({ call: call as AnyCall, requestId, receivedAt, trailers }).then(
      (response) => callback(null, response, trailers),
      (error: unknown) => {
        const status = grpcStatusOf(error, requestId, trailers);
        if (status.code === GrpcStatus.INTERNAL) this.logInternal(error, call, requestId);
        callback(status);
      },
    );
  }

  private logInternal(error: unknown, call: AnyCall, requestId: string): void {
    this.logger.error({ msg: 'Unhandled gRPC error', requestId, method: call.getPath(), err: internalDetail(error) });
  }
}

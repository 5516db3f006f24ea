import { Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access, Public } from '../auth/access.decorator';
import { Caller, CurrentCaller } from '../auth/caller';
import { boundedName } from '../common/bounded-text';
import { InvalidInputError, ModelNotFoundError } from '../common/errors';
import type { RequestWithId } from '../common/request-id';
import { AppConfig } from '../config/app-config';
import { deadlineIn, InferenceService } from '../inference/inference.service';
import { MODEL_NAME_PATTERN } from '../models/model-name';
import { trafficPick } from '../models/traffic-policy';
import { bypassesCache, LOGGED_BODY_BYTES, serverTiming } from '../predictions/prediction-context';
import { readInferRequest } from './infer-request';
import { OipInferResponseDocs, OipModelMetadataDocs, OipOperationDocs, OipReadyDocs } from './oip-openapi';
import { inferResponseBody } from './oip-response';
import { OipService } from './oip.service';
import type { OipInferRequest, OipModelMetadata, OipServerMetadata } from './oip-types';

/** The header of the binary tensor data extension: the length of the JSON part of a body. */
export const HEADER_LENGTH = 'inference-header-content-length';

/**
 * Infer bodies are read whatever their media type says: clients send none (Triton's Python
 * client), JSON, octet-stream, or their HTTP library's default (curl -d: a form type). Credentials
 * travel in a header a cross-site form cannot set, so this opens nothing to a browser.
 */
export function readsInferBody(): boolean {
  return true;
}

/** JSON parts up to this size are read on the HTTP thread; larger ones in an inference process. */
const INLINE_READ_MAX_BYTES = 16 * 1024;

/** A model name that cannot exist is an unknown model (404), as the protocol answers. */
function modelParam(name: string): string {
  if (!MODEL_NAME_PATTERN.test(name)) throw new ModelNotFoundError(boundedName(name));
  return name;
}

/**
 * The Open Inference Protocol (KServe v2) over REST, beside /api/v1, for Triton, KServe and
 * MLServer clients: health, server and model metadata, readiness, and infer with JSON tensors or
 * the binary tensor data extension. Every error answers the protocol's body `{"error": "..."}`
 * (AllExceptionsFilter does it for every path under /v2).
 */
@ApiTags('inference-protocol')
@Controller('v2')
export class OipController {
  constructor(
    private readonly oip: OipService,
    private readonly inference: InferenceService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Access('maintainer', 'predictor', 'viewer')
  @OipOperationDocs('oipServerMetadata', 'Server metadata: name, version and the protocol extensions served')
  serverMetadata(): OipServerMetadata {
    return this.oip.serverMetadata();
  }

  @Get('health/live')
  @Public()
  @OipReadyDocs('oipServerLive', 'Liveness: 200 while the process can serve; the status is the answer')
  live(@Res() res: Response): void {
    res.status(200).end();
  }

  @Get('health/ready')
  @Public()
  @OipReadyDocs('oipServerReady', 'Readiness, as /health/ready: 200 or 503, the status is the answer')
  async ready(@Res() res: Response): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    res.status((await this.oip.serverReady()) ? 200 : 503).end();
  }

  @Get('models/:name')
  @Access('maintainer', 'predictor', 'viewer')
  @OipModelMetadataDocs('oipModelMetadata', 'The latest ready version: signature with OIP datatypes, -1 dims')
  modelMetadata(@Param('name') model: string, @CurrentCaller() caller: Caller): Promise<OipModelMetadata> {
    return this.oip.modelMetadata(caller, modelParam(model));
  }

  @Get('models/:name/versions/:version')
  @Access('maintainer', 'predictor', 'viewer')
  @OipModelMetadataDocs(
    'oipModelVersionMetadata',
    'One version (a number or an alias): signature with OIP datatypes, -1 dims',
  )
  versionMetadata(
    @Param('name') model: string,
    @Param('version') version: string,
    @CurrentCaller() caller: Caller,
  ): Promise<OipModelMetadata> {
    return this.oip.modelMetadata(caller, modelParam(model), version);
  }

  @Get('models/:name/ready')
  @Access('maintainer', 'predictor', 'viewer')
  @OipReadyDocs('oipModelReady', 'Whether the latest ready version can serve: 200, or 503; 404 unknown model')
  async modelReady(@Param('name') model: string, @CurrentCaller() caller: Caller, @Res() res: Response) {
    res.status((await this.oip.modelReady(caller, modelParam(model))) ? 200 : 503).end();
  }

  @Get('models/:name/versions/:version/ready')
  @Access('maintainer', 'predictor', 'viewer')
  @OipReadyDocs(
    'oipModelVersionReady',
    'Whether the version (a number or an alias) can serve: 200, or 503; 404 unknown model, version or alias',
  )
  async versionReady(
    @Param('name') model: string,
    @Param('version') version: string,
    @CurrentCaller() caller: Caller,
    @Res() res: Response,
  ): Promise<void> {
    res.status((await this.oip.modelReady(caller, modelParam(model), version)) ? 200 : 503).end();
  }

  @Post('models/:name/infer')
  @HttpCode(200)
  @Access('maintainer', 'predictor')
  @OipInferResponseDocs(
    'oipModelInfer',
    "Run the version the model's traffic split picks, else the latest ready version",
  )
  inferLatest(
    @Param('name') model: string,
    @Req() req: RequestWithId,
    @Res() res: Response,
    @CurrentCaller() caller: Caller,
  ): Promise<void> {
    return this.infer(modelParam(model), undefined, req, res, caller);
  }

  @Post('models/:name/versions/:version/infer')
  @HttpCode(200)
  @Access('maintainer', 'predictor')
  @OipInferResponseDocs('oipModelVersionInfer', 'Run one version (a number or an alias name)')
  inferVersion(
    @Param('name') model: string,
    @Param('version') version: string,
    @Req() req: RequestWithId,
    @Res() res: Response,
    @CurrentCaller() caller: Caller,
  ): Promise<void> {
    return this.infer(modelParam(model), version, req, res, caller);
  }

  private async infer(
    model: string,
    version: string | undefined,
    req: RequestWithId,
    res: Response,
    caller: Caller,
  ): Promise<void> {
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new InvalidInputError('The body must be an inference request: JSON, or JSON followed by binary tensors');
    }
    const headerLength = req.header(HEADER_LENGTH);
    const result = await this.oip.infer(caller, model, version, () => this.read(body, headerLength), {
      protocol: 'oip-rest',
      requestId: caller.requestId,
      bypassCache: bypassesCache(req),
      receivedAt: req.startedAt,
      traffic: trafficPick((name) => req.header(name)),
      // The JSON of a body without binary tensors, for models that log payloads.
      loggedBody: () => (headerLength === undefined ? body.subarray(0, LOGGED_BODY_BYTES).toString('utf8') : null),
    });
    const response = inferResponseBody(result);
    res.setHeader('X-Cache', result.cache);
    res.setHeader('X-Model-Version', result.modelVersion);
    res.setHeader('Server-Timing', serverTiming(result.stages));
    if (response.headerLength === undefined) res.type('application/json');
    else {
      res.type('application/octet-stream');
      res.setHeader('Inference-Header-Content-Length', String(response.headerLength));
    }
    res.setHeader('Content-Length', String(response.byteLength));
    res.status(200);
    // One write to the socket for the headers and every chunk (the binary outputs are not copied).
    res.cork();
    for (const chunk of response.chunks) res.write(chunk);
    res.end();
    res.uncork();
  }

  /** The JSON part is read here when small, else in an inference process (with the body). */
  private read(body: Buffer, headerLength: string | undefined): Promise<OipInferRequest> {
    const jsonBytes =
      headerLength !== undefined && /^\d{1,16}$/.test(headerLength) ? Number(headerLength) : body.length;
    if (jsonBytes <= INLINE_READ_MAX_BYTES) {
      return Promise.resolve(
        readInferRequest(body, headerLength, { maxElements: this.config.inference.maxTensorElements }),
      );
    }
    return this.inference.decodeOip(body, headerLength, deadlineIn(this.config.inference.timeoutMs));
  }
}

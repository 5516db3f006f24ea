import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SCHEME, BEARER_SCHEME } from './auth/access.decorator';
import { describeAccess } from './auth/openapi-access';
import { ErrorDetailDto, ErrorResponseDto } from './common/error-response.dto';
import { tidySchemas } from './common/openapi-schemas';
import { describeProtocolErrors, OipErrorDto } from './oip/oip-openapi';

export const API_VERSION = '0.1.0';

/** How rate limits work and what their headers mean (draft-ietf-httpapi-ratelimit-headers). */
const RATE_LIMITS_DESCRIPTION =
  '**Rate limits.** Each credential has a token bucket: it holds up to its per-minute limit (the ' +
  "burst) and refills continuously at limit/60 requests per second. The limit is the key's own " +
  "`rateLimitPerMinute`, else its role's default (RATE_LIMIT_<ROLE>_PER_MINUTE); admin credentials, " +
  'including ADMIN_API_KEY, are unlimited unless a limit is set on them. Every response to a limited ' +
  'credential carries `RateLimit-Limit` (the per-minute limit), `RateLimit-Remaining` (requests ' +
  'allowed right now), `RateLimit-Reset` (seconds until the bucket is full again; when ' +
  'RateLimit-Remaining is 0, seconds until the next request is allowed) and `RateLimit-Policy` ' +
  '(`<limit>;w=60`). Over the limit: 429 with `Retry-After` (seconds until the next request is ' +
  'allowed, the same instant as RateLimit-Reset) and the error body.';

/**
 * The document served at /docs-json (and linted by `npm run lint:openapi`). Its one server is
 * `/`: the document is served by the API it describes, so Swagger UI and generated clients
 * resolve paths against the host they fetched it from (clients pass their own base URL).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ModelForge')
    .setDescription(
      'Model registry and inference for ONNX models. Errors share one body (ErrorResponseDto); every ' +
        'response carries X-Request-Id. Every operation states the roles that may call it ' +
        '(`x-required-roles`; admin may call every private operation); send an API key or an access ' +
        'token as `Authorization: Bearer <credential>` (or an API key as `X-API-Key`).\n\n' +
        RATE_LIMITS_DESCRIPTION,
    )
    .setVersion(API_VERSION)
    .addServer('/', 'The server this document was fetched from')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key (mf_...) or an access token from POST /api/v1/auth/login',
      },
      BEARER_SCHEME,
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (mf_...)' }, API_KEY_SCHEME)
    .build();
  // package.json says UNLICENSED (proprietary); the document says the same rather than nothing.
  config.info.license = { name: 'UNLICENSED' };
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorResponseDto, ErrorDetailDto, OipErrorDto],
    operationIdFactory: (_controller, method) => method,
  });
  describeAccess(document);
  describeProtocolErrors(document);
  tidySchemas(document);
  return document;
}

/** Swagger UI at /docs and the JSON document at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', raw: ['json'] });
}

import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { OperationObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { API_KEY_SCHEME, BEARER_SCHEME } from './auth/access.decorator';
import { ErrorDetailDto, ErrorResponseDto } from './common/error-response.dto';

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

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ModelForge')
    .setDescription(
      'Model registry and inference for ONNX models. Errors share one body (ErrorResponseDto); every ' +
        'response carries X-Request-Id.\n\n' +
        RATE_LIMITS_DESCRIPTION,
    )
    .setVersion(API_VERSION)
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
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorResponseDto, ErrorDetailDto],
    operationIdFactory: (_controller, method) => method,
  });
  markPublicOperations(document);
  return document;
}

/** Operations declared @Public() get `security: []`: explicitly no credential. */
function markPublicOperations(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const operation = item[method] as (OperationObject & { 'x-required-roles'?: string[] }) | undefined;
      if (operation && Array.isArray(operation['x-required-roles']) && operation['x-required-roles'].length === 0) {
        operation.security = [];
      }
    }
  }
}

/** Swagger UI at /docs and the JSON document at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', raw: ['json'] });
}

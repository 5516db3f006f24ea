import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ErrorDetailDto, ErrorResponseDto } from './common/error-response.dto';

export const API_VERSION = '0.1.0';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ModelForge')
    .setDescription(
      'Model registry and inference for ONNX models. Errors share one body (ErrorResponseDto); every ' +
        'response carries X-Request-Id.',
    )
    .setVersion(API_VERSION)
    .build();
  return SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorResponseDto, ErrorDetailDto],
    operationIdFactory: (_controller, method) => method,
  });
}

/** Swagger UI at /docs and the JSON document at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', raw: ['json'] });
}

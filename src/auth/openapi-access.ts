import type { OpenAPIObject } from '@nestjs/swagger';
import type { OperationObject, ResponsesObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import {
  API_KEY_SCHEME,
  BEARER_SCHEME,
  DEFAULT_ACCESS_RULE,
  METRICS_TOKEN_EXTENSION,
  REQUIRED_ROLES_EXTENSION,
} from './access.decorator';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
const ERROR_BODY = { $ref: '#/components/schemas/ErrorResponseDto' };

type AccessOperation = OperationObject & {
  [REQUIRED_ROLES_EXTENSION]?: string[];
  [METRICS_TOKEN_EXTENSION]?: boolean;
};

/**
 * Makes every operation of the document state who may call it, the way the access guard decides:
 * public operations get `security: []`; private ones the bearer and X-API-Key schemes, their roles
 * in `x-required-roles` (an operation nobody decorated gets the guard's default, admin only), the
 * 401/403 answers, and a "Roles: ..." line in the description for people reading Swagger UI.
 */
export function describeAccess(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as AccessOperation | undefined;
      if (operation) describeOperation(operation);
    }
  }
}

function describeOperation(operation: AccessOperation): void {
  const roles = operation[REQUIRED_ROLES_EXTENSION];
  if (Array.isArray(roles) && roles.length === 0) {
    operation.security = [];
    appendDescription(operation, 'Public: no credential needed.');
    return;
  }
  const required = roles ?? [...DEFAULT_ACCESS_RULE.roles];
  operation[REQUIRED_ROLES_EXTENSION] = required;
  operation.security = [{ [BEARER_SCHEME]: [] }, { [API_KEY_SCHEME]: [] }];
  const metrics = operation[METRICS_TOKEN_EXTENSION] === true ? ', or METRICS_TOKEN' : '';
  appendDescription(operation, `Roles: ${required.join(', ')}${metrics}.`);
  addError(operation.responses, '401', 'Missing or invalid credentials');
  addError(operation.responses, '403', 'Role not allowed');
}

function appendDescription(operation: OperationObject, line: string): void {
  operation.description = operation.description ? `${operation.description}\n\n${line}` : line;
}

function addError(responses: ResponsesObject, status: string, description: string): void {
  responses[status] ??= { description, content: { 'application/json': { schema: ERROR_BODY } } };
}

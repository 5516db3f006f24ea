/** The operations of the served OpenAPI document, flattened into what a request generator needs. */

export interface JsonSchema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  allOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  nullable?: boolean;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  operationId: string;
  method: string;
  /** `/api/v1/models/{name}` */
  path: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  /** Content type -> schema of the request body. */
  body?: Record<string, JsonSchema>;
  /** Status codes the document lists for the operation. */
  responses: number[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface RawOperation {
  operationId?: string;
  parameters?: Array<{ name: string; in: Parameter['in']; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, unknown>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

/** Every operation in the document, in document order; `$ref`s stay for `resolveSchema`. */
export function operationsOf(document: unknown): Operation[] {
  const doc = document as OpenApiDocument;
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const parameters = (raw.parameters ?? []).map((p) => ({
        name: p.name,
        in: p.in,
        required: p.required ?? p.in === 'path',
        schema: p.schema ?? {},
      }));
      const content = raw.requestBody?.content;
      operations.push({
        operationId: raw.operationId ?? `${method} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path'),
        queryParams: parameters.filter((p) => p.in === 'query'),
        body: content
          ? Object.fromEntries(Object.entries(content).map(([type, media]) => [type, media.schema ?? {}]))
          : undefined,
        responses: Object.keys(raw.responses ?? {})
          .map(Number)
          .filter((n) => Number.isInteger(n)),
      });
    }
  }
  return operations;
}

/** Follows `$ref` and merges `allOf` until the schema says what it is. */
export function resolveSchema(document: unknown, schema: JsonSchema): JsonSchema {
  const components = (document as OpenApiDocument).components?.schemas ?? {};
  let current = schema;
  for (let hops = 0; hops < 32; hops++) {
    if (current.$ref) {
      const name = current.$ref.replace('#/components/schemas/', '');
      const { $ref: _ref, ...rest } = current;
      current = { ...(components[name] ?? {}), ...rest };
    } else if (current.allOf && current.allOf.length > 0) {
      const { allOf, ...rest } = current;
      current = allOf.reduce<JsonSchema>((merged, part) => ({ ...merged, ...resolveSchema(document, part) }), rest);
    } else {
      return current;
    }
  }
  return current;
}

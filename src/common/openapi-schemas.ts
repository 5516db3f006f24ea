import type { OpenAPIObject } from '@nestjs/swagger';

type Json = Record<string, unknown>;

const REF_PREFIX = '#/components/schemas/';

/**
 * Rewrites two shapes @nestjs/swagger emits for named enums into what OpenAPI 3.0 linters and
 * client generators expect, without changing what the schema accepts:
 * - `{allOf: [{$ref}]}` with nothing beside it becomes `{$ref}` (an allOf of one schema says nothing more);
 * - a nullable reference (`{nullable: true, allOf: [{$ref}]}`) gets the `type` of the schema it
 *   refers to, since `nullable` only applies beside a `type` (OpenAPI 3.0.3), as Nest already
 *   does for nullable object references.
 */
export function tidySchemas(document: OpenAPIObject): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Json>;
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const object = node as Json;
    for (const [key, value] of Object.entries(object)) object[key] = visit(value);
    const ref = singleAllOfRef(object);
    if (ref === undefined) return object;
    if (Object.keys(object).length === 1) return { $ref: ref };
    if ('nullable' in object && !('type' in object)) {
      const type = schemas[ref.slice(REF_PREFIX.length)]?.type;
      if (typeof type === 'string') object.type = type;
    }
    return object;
  };
  visit(document.paths);
  visit(document.components);
}

function singleAllOfRef(object: Json): string | undefined {
  const allOf = object.allOf;
  if (!Array.isArray(allOf) || allOf.length !== 1) return undefined;
  const only = allOf[0] as Json | null;
  const ref = only && typeof only === 'object' ? only.$ref : undefined;
  return typeof ref === 'string' && ref.startsWith(REF_PREFIX) && Object.keys(only as Json).length === 1
    ? ref
    : undefined;
}

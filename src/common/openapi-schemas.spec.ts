import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OpenAPIObject } from '@nestjs/swagger';
import { tidySchemas } from './openapi-schemas';

function documentWith(schemas: Record<string, unknown>, paths: Record<string, unknown> = {}): OpenAPIObject {
  return { openapi: '3.0.0', info: { title: 't', version: '1' }, paths, components: { schemas } } as OpenAPIObject;
}

describe('tidySchemas', () => {
  it('turns a lone allOf of one reference into the reference, wherever it is', () => {
    const doc = documentWith(
      {
        Role: { type: 'string', enum: ['admin', 'viewer'] },
        Key: { type: 'object', properties: { role: { allOf: [{ $ref: '#/components/schemas/Role' }] } } },
      },
      {
        '/x': {
          get: {
            parameters: [{ name: 'role', in: 'query', schema: { allOf: [{ $ref: '#/components/schemas/Role' }] } }],
            responses: {},
          },
        },
      },
    );
    tidySchemas(doc);
    const key = doc.components?.schemas?.Key as { properties: Record<string, unknown> };
    assert.deepEqual(key.properties.role, { $ref: '#/components/schemas/Role' });
    const parameter = (doc.paths['/x'].get?.parameters?.[0] as { schema: unknown }).schema;
    assert.deepEqual(parameter, { $ref: '#/components/schemas/Role' });
  });

  it('gives a nullable reference the type of what it refers to and keeps its description', () => {
    const doc = documentWith({
      Kind: { type: 'string', enum: ['a', 'b'] },
      Job: {
        type: 'object',
        properties: {
          kind: { nullable: true, description: 'd', allOf: [{ $ref: '#/components/schemas/Kind' }] },
        },
      },
    });
    tidySchemas(doc);
    const job = doc.components?.schemas?.Job as { properties: Record<string, unknown> };
    assert.deepEqual(job.properties.kind, {
      nullable: true,
      description: 'd',
      allOf: [{ $ref: '#/components/schemas/Kind' }],
      type: 'string',
    });
  });

  it('leaves real compositions and typed schemas alone', () => {
    const composed = {
      allOf: [{ $ref: '#/components/schemas/A' }, { type: 'object', properties: { b: { type: 'string' } } }],
    };
    const described = { description: 'kept', allOf: [{ $ref: '#/components/schemas/A' }] };
    const doc = documentWith({
      A: { type: 'object' },
      C: structuredClone(composed),
      D: structuredClone(described),
    });
    tidySchemas(doc);
    assert.deepEqual(doc.components?.schemas?.C, composed);
    assert.deepEqual(doc.components?.schemas?.D, described);
  });
});

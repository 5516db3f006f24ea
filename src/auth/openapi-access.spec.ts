import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OpenAPIObject } from '@nestjs/swagger';
import { describeAccess } from './openapi-access';

type Operation = Record<string, unknown> & { responses: Record<string, unknown> };

function documentOf(operations: Record<string, Operation>): OpenAPIObject {
  const paths = Object.fromEntries(Object.entries(operations).map(([path, op]) => [path, { get: op }]));
  return { openapi: '3.0.0', info: { title: 't', version: '1' }, paths } as OpenAPIObject;
}

function operation(doc: OpenAPIObject, path: string): Operation {
  return doc.paths[path].get as unknown as Operation;
}

describe('describeAccess', () => {
  it('marks public operations with security: [] and says so', () => {
    const doc = documentOf({ '/health': { 'x-required-roles': [], responses: { 200: { description: 'ok' } } } });
    describeAccess(doc);
    const op = operation(doc, '/health');
    assert.deepEqual(op.security, []);
    assert.equal(op.description, 'Public: no credential needed.');
    assert.deepEqual(Object.keys(op.responses), ['200']);
  });

  it('states the roles of private operations after their own description, with both schemes', () => {
    const doc = documentOf({
      '/models': {
        'x-required-roles': ['admin', 'maintainer'],
        description: 'Creates a model.',
        security: [{ bearer: [] }, { apiKey: [] }],
        responses: { 201: { description: 'created' }, 401: { description: 'kept as declared' } },
      },
      '/metrics': { 'x-required-roles': ['admin', 'viewer'], 'x-metrics-token': true, responses: {} },
    });
    describeAccess(doc);
    const models = operation(doc, '/models');
    assert.equal(models.description, 'Creates a model.\n\nRoles: admin, maintainer.');
    assert.deepEqual(models.security, [{ bearer: [] }, { apiKey: [] }]);
    assert.deepEqual(models.responses['401'], { description: 'kept as declared' });
    assert.ok(models.responses['403']);
    assert.equal(operation(doc, '/metrics').description, 'Roles: admin, viewer, or METRICS_TOKEN.');
  });

  it('gives an operation nobody declared access for the guard default: admin only, with 401 and 403', () => {
    const doc = documentOf({ '/forgotten': { responses: { 200: { description: 'ok' } } } });
    describeAccess(doc);
    const op = operation(doc, '/forgotten');
    assert.deepEqual(op['x-required-roles'], ['admin']);
    assert.deepEqual(op.security, [{ bearer: [] }, { apiKey: [] }]);
    assert.equal(op.description, 'Roles: admin.');
    assert.deepEqual(Object.keys(op.responses).sort(), ['200', '401', '403']);
  });
});

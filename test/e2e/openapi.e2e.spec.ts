import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestApp, TestApp } from '../support/test-app';

const ROOT = path.resolve(__dirname, '../../..');
const GENERATED = path.join(ROOT, 'test/.generated');
const BIN = path.join(ROOT, 'node_modules/.bin');
// Asynchronous, so the server under test keeps serving (and closing idle sockets) meanwhile.
const run = promisify(execFile);

interface Operation {
  operationId?: string;
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: Document;

  before(async () => {
    t = await startTestApp('sqlite', { listen: true });
    const res = await fetch(`${t.baseUrl}/docs-json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as Document;
  });
  after(async () => {
    await t?.close();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => ({ p, m, op })));

  it('serves Swagger UI at /docs', async () => {
    const res = await fetch(`${t.baseUrl}/docs`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /swagger/i);
  });

  it('gives every operation a unique operationId', () => {
    const ids = operations().map(({ op }) => op.operationId);
    assert.ok(ids.every((id) => typeof id === 'string' && id.length > 0));
    assert.equal(new Set(ids).size, ids.length);
    for (const expected of ['createModel', 'listModels', 'getModel', 'updateModel', 'deleteModel']) {
      assert.ok(ids.includes(expected), expected);
    }
  });

  it('names every JSON response schema and documents error responses on /api routes', () => {
    for (const { p, m, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        const schema = response.content?.['application/json']?.schema;
        if (!schema) continue;
        assert.ok('$ref' in schema, `${m} ${p} ${status} has an inline schema`);
        const isReadiness = p === '/health/ready' && status === '503';
        if (Number(status) >= 400 && !isReadiness) {
          // The Open Inference Protocol's clients decode its own error body.
          const body = p === '/v2' || p.startsWith('/v2/') ? 'OipErrorDto' : 'ErrorResponseDto';
          assert.equal(schema.$ref, `#/components/schemas/${body}`, `${m} ${p} ${status}`);
        }
      }
      const takesInput =
        (op as { parameters?: unknown[]; requestBody?: unknown }).parameters?.length || 'requestBody' in op;
      if (p.startsWith('/api/') && takesInput) assert.ok(op.responses['400'], `${m} ${p} documents 400`);
    }
    assert.ok(!JSON.stringify(doc).includes('#/components/schemas/Object'), 'a property fell back to Object');
    assert.ok(doc.components.schemas.ModelVersionDto);
    assert.ok(doc.components.schemas.TensorDtype, 'dtype enum is named');
  });

  it('generates a TypeScript client that compiles, creates an API key and drives the registry with it', async () => {
    fs.rmSync(GENERATED, { recursive: true, force: true });
    fs.mkdirSync(GENERATED, { recursive: true });
    const specPath = path.join(GENERATED, 'openapi.json');
    fs.writeFileSync(specPath, JSON.stringify(doc));
    await run(path.join(BIN, 'openapi-typescript'), [specPath, '-o', path.join(GENERATED, 'modelforge.d.ts')]);
    try {
      await run(path.join(BIN, 'tsc'), ['-p', path.join(ROOT, 'test/client-sdk/tsconfig.json')]);
    } catch (error) {
      const out = (error as { stdout?: string }).stdout ?? String(error);
      assert.fail(`the generated client does not compile:\n${out}`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { driveRegistry } = require(path.join(GENERATED, 'out/client-sdk/registry-client.js')) as {
      driveRegistry: (baseUrl: string, credential: string) => Promise<Record<string, unknown> & Record<string, never>>;
    };
    const result = await driveRegistry(t.baseUrl as string, t.adminKey);
    // The admin key only created a maintainer key (createApiKey); that key drove the rest.
    const apiKey = result.apiKey as { id: string; name: string; role: string; keyLooksRight: boolean };
    assert.equal(apiKey.name, 'sdk-maintainer');
    assert.equal(apiKey.role, 'maintainer');
    assert.equal(apiKey.keyLooksRight, true);
    for (const caller of [result.callerByBearer, result.callerByHeader]) {
      assert.deepEqual(caller, {
        kind: 'key',
        id: apiKey.id,
        name: 'sdk-maintainer',
        role: 'maintainer',
        models: null,
      });
    }
    // The generated client logged in as a maintainer user and drove the registry with its access token.
    const byJwt = result.callerByJwt as { kind: string; name: string; role: string; models: unknown };
    assert.deepEqual([byJwt.kind, byJwt.name, byJwt.role, byJwt.models], ['user', 'sdk-user', 'maintainer', null]);
    assert.deepEqual(result.jwtModel, { created: 'sdk-jwt-model', deletedStatus: 204 });
    assert.equal((result.forbidden as { statusCode: number }).statusCode, 403);
    assert.equal((result.unauthenticated as { statusCode: number }).statusCode, 401);
    assert.equal((result.created as { name: string }).name, 'sdk-model');
    assert.deepEqual(result.listedNames, ['sdk-model']);
    const patched = result.patched as { description: string; batching: unknown };
    assert.equal(patched.description, 'patched through the SDK');
    assert.deepEqual(patched.batching, {
      enabled: true,
      maxBatchSize: 16,
      maxQueueDelayMs: 0,
      preferredBatchSizes: [4, 8],
    });
    assert.equal(result.versionsTotal, 0);
    assert.equal((result.notFound as { statusCode: number }).statusCode, 404);
    assert.equal((result.conflict as { statusCode: number }).statusCode, 409);
    assert.equal(result.deletedStatus, 204);
    assert.equal(result.readyStatus, 200);
  });
});

/**
 * The role matrix: every operation of /docs-json is called with every kind of credential, and the
 * answer (401, 403 or allowed) must be what this file's own role table says. The table is written
 * here, not read from the code under test: an operation the document lists and the table does not
 * fails the test, so a new route is covered the day it appears. Entries for operations that do
 * not exist (yet) are ignored, so the table may run ahead of the code.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Role } from '../../src/auth/roles';
import { credentialFailureMessage } from '../../src/auth/principal';
import { createKey, expiredJwt, revokeKey, TEST_JWT_SECRET, TEST_METRICS_TOKEN, whoAmI } from '../support/auth-helpers';
import { dropQueue, REDIS_TEST_URL, redisPrefix, testQueue } from '../support/job-helpers';
import { buildOpenApiDocument } from '../../src/openapi';
import { Engine, testEngines } from '../support/postgres';
import { capturingLogger, startTestApp, TestApp } from '../support/test-app';

type Rule = 'public' | { roles: readonly Exclude<Role, 'admin'>[]; metricsToken?: true };

const PUBLIC = 'public' as const;
const ADMIN_ONLY: Rule = { roles: [] };
const M = 'maintainer';
const P = 'predictor';
const V = 'viewer';

/**
 * Who may call what (docs/api.md, "Routes"). Admin may call every private
 * operation, so only the other roles are listed.
 */
const ROLE_TABLE: Record<string, Rule> = {
  // health and docs
  getLiveness: PUBLIC,
  getReadiness: PUBLIC,
  // registry
  createModel: { roles: [M] },
  listModels: { roles: [M, P, V] },
  getModel: { roles: [M, P, V] },
  updateModel: { roles: [M] },
  deleteModel: { roles: [M] },
  flushModelCache: { roles: [M] },
  uploadModelVersion: { roles: [M] },
  listModelVersions: { roles: [M, P, V] },
  getModelVersion: { roles: [M, P, V] },
  getPredictionSchema: { roles: [M, P, V] },
  downloadModelVersionFile: { roles: [M] },
  updateModelVersion: { roles: [M] },
  deleteModelVersion: { roles: [M] },
  setModelAlias: { roles: [M] },
  deleteModelAlias: { roles: [M] },
  getModelTraffic: { roles: [M, P, V] },
  setModelTraffic: { roles: [M] },
  deleteModelTraffic: { roles: [M] },
  getModelTrafficStats: { roles: [M, V] },
  // predictions
  predict: { roles: [M, P] },
  listPredictions: { roles: [M] },
  getPrediction: { roles: [M] },
  getCacheStats: { roles: [M, V] },
  getTrafficSeries: { roles: [M, V] },
  // jobs (a predictor only sees its own jobs: a scoping rule, not a role rule)
  createJob: { roles: [M, P] },
  listJobs: { roles: [M, P, V] },
  getJob: { roles: [M, P, V] },
  listJobResults: { roles: [M, P] },
  cancelJob: { roles: [M, P] },
  deleteJob: { roles: [M, P] },
  // Open Inference Protocol (KServe v2)
  oipServerMetadata: { roles: [M, P, V] },
  oipServerLive: PUBLIC,
  oipServerReady: PUBLIC,
  oipModelMetadata: { roles: [M, P, V] },
  oipModelVersionMetadata: { roles: [M, P, V] },
  oipModelReady: { roles: [M, P, V] },
  oipModelVersionReady: { roles: [M, P, V] },
  oipModelInfer: { roles: [M, P] },
  oipModelVersionInfer: { roles: [M, P] },
  // metrics
  getMetrics: { roles: [M, P, V], metricsToken: true },
  // auth: keys, the caller, users, sessions, audit
  createApiKey: ADMIN_ONLY,
  listApiKeys: ADMIN_ONLY,
  revokeApiKey: ADMIN_ONLY,
  getCurrentCaller: { roles: [M, P, V] },
  createUser: ADMIN_ONLY,
  listUsers: ADMIN_ONLY,
  getUser: ADMIN_ONLY,
  updateUser: ADMIN_ONLY,
  deleteUser: ADMIN_ONLY,
  login: PUBLIC,
  refreshAccessToken: PUBLIC,
  logout: PUBLIC,
  listAuditEvents: ADMIN_ONLY,
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

interface Parameter {
  name: string;
  in: string;
  schema?: { type?: string; format?: string };
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: unknown;
  security?: Record<string, string[]>[];
  description?: string;
  'x-required-roles'?: string[];
  'x-metrics-token'?: boolean;
}
interface Document {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
}
interface Endpoint {
  method: string;
  path: string;
  operation: Operation;
}

/** Who a credential is: nobody (every kind of failure), a role, or METRICS_TOKEN. */
type Grant = 'nobody' | Role | 'metrics';
interface Credential {
  name: string;
  headers: Record<string, string>;
  grant: Grant;
}

interface Answer {
  status: number;
  wwwAuthenticate: string | null;
  body: unknown;
}

function endpoints(doc: Document): Endpoint[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, operation: item[method] as Operation })),
  );
}

/** A syntactically valid value for a path parameter: a UUID for ids, 1 for versions, else a name. */
function dummyValue(parameter: Parameter): string {
  if (parameter.schema?.format === 'uuid' || parameter.name === 'id') return randomUUID();
  if (parameter.schema?.type === 'integer' || parameter.schema?.type === 'number') return '1';
  if (parameter.name === 'version') return '1';
  if (parameter.name === 'username') return 'matrix-user';
  if (parameter.name === 'alias') return 'matrix-alias';
  return 'matrix-model';
}

function concretePath(endpoint: Endpoint): string {
  return endpoint.path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const parameter = endpoint.operation.parameters?.find((p) => p.in === 'path' && p.name === name);
    return encodeURIComponent(dummyValue(parameter ?? { name, in: 'path' }));
  });
}

async function call(baseUrl: string, endpoint: Endpoint, credential: Credential): Promise<Answer> {
  const headers: Record<string, string> = { ...credential.headers };
  let body: string | undefined;
  if (endpoint.operation.requestBody !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = '{}';
  }
  const res = await fetch(`${baseUrl}${concretePath(endpoint)}`, {
    method: endpoint.method.toUpperCase(),
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics text, Swagger UI): kept as text
  }
  return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: parsed };
}

type Expected = 'public' | 'allowed' | 401 | 403;

function expected(rule: Rule, grant: Grant): Expected {
  if (rule === PUBLIC) return 'public';
  if (grant === 'nobody') return 401;
  if (grant === 'metrics') return rule.metricsToken ? 'allowed' : 403;
  return grant === 'admin' || rule.roles.includes(grant) ? 'allowed' : 403;
}

const CREDENTIAL_FAILURE_MESSAGES = new Set(
  [undefined, 'malformed', 'unknown', 'expired', 'revoked'].map((f) =>
    credentialFailureMessage(f as Parameters<typeof credentialFailureMessage>[0]),
  ),
);

/** The Open Inference Protocol's error body under /v2: exactly `{"error": "..."}`. */
function isProtocolErrorBody(body: unknown): boolean {
  const b = body as Record<string, unknown> | null;
  return !!b && typeof b === 'object' && Object.keys(b).join() === 'error' && typeof b.error === 'string';
}

function isErrorBody(body: unknown, status: number, error: string, protocol = false): boolean {
  if (protocol) return isProtocolErrorBody(body);
  const b = body as Record<string, unknown> | null;
  return (
    !!b &&
    typeof b === 'object' &&
    b.statusCode === status &&
    b.error === error &&
    typeof b.message === 'string' &&
    b.message.length > 0 &&
    typeof b.requestId === 'string'
  );
}

/** Why an answer does not match what the table expects, or undefined when it does. */
function mismatch(want: Expected, got: Answer, anonymous: Answer | undefined, protocol: boolean): string | undefined {
  const brief = `${got.status} ${JSON.stringify(got.body).slice(0, 160)}`;
  switch (want) {
    case 401:
      if (got.status !== 401) return `expected 401, got ${brief}`;
      if (!/^Bearer\b/.test(got.wwwAuthenticate ?? '')) return `401 without WWW-Authenticate: Bearer`;
      if (!isErrorBody(got.body, 401, 'Unauthorized', protocol)) return `401 without the error body: ${brief}`;
      return undefined;
    case 403:
      if (got.status !== 403) return `expected 403, got ${brief}`;
      if (!isErrorBody(got.body, 403, 'Forbidden', protocol)) return `403 without the error body: ${brief}`;
      return undefined;
    case 'allowed':
      if (got.status === 401 || got.status === 403) return `expected to be allowed, got ${brief}`;
      if (got.status === 500) return `allowed, but a dummy request broke it: ${brief}`;
      return undefined;
    case 'public': {
      // A public operation ignores credentials: the answer is the one an anonymous caller gets,
      // never a 403, and never the guard's "missing/invalid credentials" 401.
      if (got.status === 403 || got.status === 500) return `public, got ${brief}`;
      const message = (got.body as { message?: string } | null)?.message;
      if (got.status === 401 && message !== undefined && CREDENTIAL_FAILURE_MESSAGES.has(message)) {
        return `public, but refused the credential: ${brief}`;
      }
      if (anonymous && got.status !== anonymous.status) {
        return `public, but answers ${got.status} with this credential and ${anonymous.status} without`;
      }
      return undefined;
    }
  }
}

function describeRule(rule: Rule): { roles: string[]; metricsToken: boolean } {
  return rule === PUBLIC
    ? { roles: [], metricsToken: false }
    : { roles: ['admin', ...rule.roles].sort(), metricsToken: rule.metricsToken === true };
}

/** Every route and path-mounted middleware Express knows, outside the global middleware. */
function expressRoutes(t: TestApp): { routes: string[]; mounts: string[] } {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    rawPath?: string;
  }
  const server = t.app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } };
  const routes = new Set<string>();
  const mounts = new Set<string>();
  for (const layer of server.router.stack) {
    if (layer.route) {
      const path = layer.route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const method of Object.keys(layer.route.methods)) routes.add(`${method.toUpperCase()} ${path}`);
    } else if (layer.rawPath && layer.rawPath !== '/') {
      mounts.add(layer.rawPath);
    }
  }
  return { routes: [...routes].sort(), mounts: [...mounts].sort() };
}

/** Routes served outside the OpenAPI document, each covered by its own test below. */
const SWAGGER_UI_ROUTES = /^GET \/docs(-json|\/.*)?$/;
const OUTSIDE_MOUNTS = ['/admin/queues', '/docs', '/ui'];

for (const engine of testEngines()) {
  describe(`access matrix (${engine})`, () => {
    // One app per engine. On SQLite it also has Redis and the queue dashboard, so /admin/queues
    // is part of the matrix; on PostgreSQL the dashboard is not mounted.
    const withDashboard = engine === 'sqlite';
    const prefix = redisPrefix('access');
    let t: TestApp;
    let baseUrl: string;
    let doc: Document;
    let credentials: Credential[];
    const revokedKey: { key?: string } = {};

    before(async () => {
      t = await startTestApp(engine as Engine, {
        listen: true,
        env: {
          METRICS_TOKEN: TEST_METRICS_TOKEN,
          JWT_SECRET: TEST_JWT_SECRET,
          // No rate limit gets in the matrix's way: 429 is not what it measures.
          RATE_LIMIT_MAINTAINER_PER_MINUTE: '0',
          RATE_LIMIT_PREDICTOR_PER_MINUTE: '0',
          RATE_LIMIT_VIEWER_PER_MINUTE: '0',
          ...(withDashboard
            ? { REDIS_URL: REDIS_TEST_URL, JOBS_QUEUE_PREFIX: prefix, QUEUE_DASHBOARD_ENABLED: 'true' }
            : {}),
        },
      });
      baseUrl = t.baseUrl as string;
      const res = await fetch(`${baseUrl}/docs-json`);
      assert.equal(res.status, 200);
      doc = (await res.json()) as Document;

      const bearer = (value: string) => ({ Authorization: `Bearer ${value}` });
      const keys: Credential[] = [];
      for (const role of ['admin', 'maintainer', 'predictor', 'viewer'] as const) {
        const created = await createKey(baseUrl, t.adminKey, { name: `matrix-${role}`, role });
        keys.push({ name: `API key (${role})`, headers: bearer(created.key), grant: role });
      }
      // An admin key, revoked: were revocation ignored, it would be allowed everywhere.
      const revoked = await createKey(baseUrl, t.adminKey, { name: 'matrix-revoked', role: 'admin' });
      assert.equal((await whoAmI(baseUrl, revoked.key)).status, 200);
      await revokeKey(baseUrl, t.adminKey, revoked.id);
      revokedKey.key = revoked.key;
      credentials = [
        { name: 'no credential', headers: {}, grant: 'nobody' },
        { name: 'garbage token', headers: bearer('garbage-0123456789'), grant: 'nobody' },
        { name: 'malformed header (Basic)', headers: { Authorization: 'Basic eDp5' }, grant: 'nobody' },
        { name: 'expired JWT (admin)', headers: bearer(expiredJwt(TEST_JWT_SECRET)), grant: 'nobody' },
        { name: 'revoked API key (admin)', headers: bearer(revoked.key), grant: 'nobody' },
        ...keys,
        { name: 'ADMIN_API_KEY', headers: bearer(t.adminKey), grant: 'admin' },
        { name: 'METRICS_TOKEN', headers: bearer(TEST_METRICS_TOKEN), grant: 'metrics' },
      ];
    });
    after(async () => {
      await t?.close();
      if (withDashboard) await dropQueue(testQueue(prefix), prefix);
    });

    it('has a role in the table for every operation of the document', () => {
      const missing = endpoints(doc)
        .filter(({ operation }) => !(operation.operationId in ROLE_TABLE))
        .map(({ method, path, operation }) => `${operation.operationId} (${method.toUpperCase()} ${path})`);
      assert.deepEqual(missing, [], 'operations missing from ROLE_TABLE: give each its roles');
    });

    it('documents, for every operation, the security and roles the table gives it', () => {
      const wrong: string[] = [];
      for (const { operation } of endpoints(doc)) {
        const rule = ROLE_TABLE[operation.operationId];
        if (!rule) continue; // reported by the test above
        const want = describeRule(rule);
        const id = operation.operationId;
        if (JSON.stringify([...(operation['x-required-roles'] ?? ['?'])].sort()) !== JSON.stringify(want.roles)) {
          wrong.push(`${id}: x-required-roles ${JSON.stringify(operation['x-required-roles'])}`);
        }
        if ((operation['x-metrics-token'] === true) !== want.metricsToken) wrong.push(`${id}: x-metrics-token`);
        if (rule === PUBLIC) {
          if (JSON.stringify(operation.security) !== '[]') wrong.push(`${id}: public without security: []`);
          if (!operation.description?.includes('Public: no credential needed.')) wrong.push(`${id}: description`);
        } else {
          const schemes = (operation.security ?? []).flatMap((s) => Object.keys(s)).sort();
          if (JSON.stringify(schemes) !== '["apiKey","bearer"]') wrong.push(`${id}: security ${schemes.join(',')}`);
          const line = `Roles: ${want.roles.join(', ')}${want.metricsToken ? ', or METRICS_TOKEN' : ''}.`;
          if (!operation.description?.includes(line)) wrong.push(`${id}: description does not state "${line}"`);
        }
      }
      assert.deepEqual(wrong, []);
    });

    it('answers every operation x credential as the table says (0 routes reachable without their role)', async (ctx) => {
      const problems: string[] = [];
      let reachableWithoutRole = 0;
      let calls = 0;
      for (const endpoint of endpoints(doc)) {
        const rule = ROLE_TABLE[endpoint.operation.operationId];
        if (!rule) continue;
        let anonymous: Answer | undefined;
        for (const credential of credentials) {
          const answer = await call(baseUrl, endpoint, credential);
          calls += 1;
          if (credential.grant === 'nobody' && Object.keys(credential.headers).length === 0) anonymous = answer;
          const want = expected(rule, credential.grant);
          const problem = mismatch(want, answer, anonymous, endpoint.path.startsWith('/v2'));
          if (problem) {
            problems.push(
              `${endpoint.operation.operationId} ${endpoint.method.toUpperCase()} ${endpoint.path} as ${credential.name}: ${problem}`,
            );
          }
          if ((want === 401 || want === 403) && answer.status !== 401 && answer.status !== 403) {
            reachableWithoutRole += 1;
          }
        }
      }
      assert.deepEqual(problems, []);
      const operations = endpoints(doc).filter(({ operation }) => ROLE_TABLE[operation.operationId]).length;
      assert.equal(calls, operations * credentials.length);
      assert.ok(operations >= 28, `the document lists ${operations} operations`);
      assert.equal(reachableWithoutRole, 0, 'routes reachable without the role the table gives them');
      ctx.diagnostic(
        `${operations} operations x ${credentials.length} credentials = ${calls} calls; ` +
          `${reachableWithoutRole} reachable without the role the table gives them`,
      );
    });

    it('serves no route outside the document except Swagger UI, the queue dashboard and /ui', () => {
      const documented = new Set(endpoints(doc).map(({ method, path }) => `${method.toUpperCase()} ${path}`));
      const { routes, mounts } = expressRoutes(t);
      const undocumented = routes.filter((r) => !documented.has(r) && !SWAGGER_UI_ROUTES.test(r));
      assert.deepEqual(undocumented, [], 'routes the matrix cannot see: document them (or cover them here)');
      assert.deepEqual(
        mounts.filter((m) => !OUTSIDE_MOUNTS.includes(m)),
        [],
      );
      assert.equal(mounts.includes('/admin/queues'), withDashboard);
    });

    it('reads the JSON body of every operation that declares one (an unknown field is named in the 400)', async () => {
      // A route that takes a body needs its body reader in app.factory.ts; without one the
      // handler sees {} and the unknown field below would go unnoticed.
      const unread: string[] = [];
      for (const endpoint of endpoints(doc)) {
        const content = (endpoint.operation.requestBody as { content?: Record<string, unknown> } | undefined)?.content;
        if (!content?.['application/json']) continue;
        const res = await fetch(`${baseUrl}${concretePath(endpoint)}`, {
          method: endpoint.method.toUpperCase(),
          headers: { Authorization: `Bearer ${t.adminKey}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ matrixProbeField: true }),
        });
        const text = await res.text();
        // The Open Inference Protocol ignores unknown fields, as Triton and KServe do: its 400 for
        // the missing inputs shows the body was read.
        const sign = endpoint.path.startsWith('/v2/') ? 'inputs must be' : 'matrixProbeField';
        if (res.status !== 400 || !text.includes(sign)) {
          unread.push(`${endpoint.operation.operationId}: ${res.status} ${text.slice(0, 160)}`);
        }
      }
      assert.deepEqual(unread, []);
    });

    it('/ui serves the exported dashboard files only: no data, no other method, nothing outside it', async () => {
      // The files hold no data (every call the pages make carries the user's credential), so /ui
      // needs none; what it answers must never depend on one.
      for (const path of ['/ui/api/v1/models', '/ui/v2/models/x', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json']) {
        const res = await fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${t.adminKey}` } });
        const text = await res.text();
        assert.equal(res.status, 404, `${path}: ${res.status} ${text.slice(0, 120)}`);
        assert.doesNotMatch(text, /"dependencies"|"items"/, path);
      }
      const post = await fetch(`${baseUrl}/ui/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      assert.equal(post.status, 404);
    });

    it('serves /docs and /docs-json to anyone, with or without a credential', async () => {
      for (const credential of credentials) {
        for (const path of ['/docs', '/docs-json']) {
          const res = await fetch(`${baseUrl}${path}`, { headers: credential.headers });
          assert.equal(res.status, 200, `${path} as ${credential.name}`);
          await res.arrayBuffer();
        }
      }
    });

    it(
      withDashboard
        ? 'serves the queue dashboard (/admin/queues) to admin credentials only'
        : 'does not mount the queue dashboard without Redis and QUEUE_DASHBOARD_ENABLED',
      async () => {
        for (const credential of credentials) {
          const res = await fetch(`${baseUrl}/admin/queues`, { headers: credential.headers });
          const text = await res.text();
          const who = `/admin/queues as ${credential.name}: ${res.status} ${text.slice(0, 120)}`;
          if (!withDashboard) {
            assert.equal(res.status, 404, who);
            continue;
          }
          if (credential.grant === 'nobody') {
            assert.equal(res.status, 401, who);
            assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, who);
            assert.ok(isErrorBody(JSON.parse(text), 401, 'Unauthorized'), who);
          } else if (credential.grant === 'admin') {
            assert.equal(res.status, 200, who);
            assert.match(text, /<html/i, who);
          } else {
            assert.equal(res.status, 403, who);
            assert.ok(isErrorBody(JSON.parse(text), 403, 'Forbidden'), who);
          }
        }
      },
    );

    it('refuses a revoked key at once, even on routes it used to call', async () => {
      assert.equal((await whoAmI(baseUrl, revokedKey.key as string)).status, 401);
    });
  });
}

describe('AUTH_ENABLED=false (and DOCS_ENABLED=false)', () => {
  let t: TestApp;
  let doc: Document;
  const captured = capturingLogger('warn');

  before(async () => {
    t = await startTestApp('sqlite', {
      listen: true,
      logger: captured.logger,
      env: { AUTH_ENABLED: 'false', DOCS_ENABLED: 'false' },
    });
    // The app serves no document: the operations to call come from the one it would serve.
    doc = buildOpenApiDocument(t.app) as unknown as Document;
  });
  after(async () => {
    await t?.close();
  });

  it('warns loudly at start that every route is open', () => {
    const warnings = captured.lines.filter((l) => l.level === 40 && String(l.msg).includes('AUTH_ENABLED=false'));
    assert.equal(warnings.length, 1, JSON.stringify(captured.lines));
  });

  it('allows every private operation without a credential', async () => {
    const refused: string[] = [];
    const anonymous: Credential = { name: 'no credential', headers: {}, grant: 'nobody' };
    for (const endpoint of endpoints(doc)) {
      const answer = await call(t.baseUrl as string, endpoint, anonymous);
      // A public operation may answer 401 on its own terms (refresh without a refresh cookie).
      const isPublic = JSON.stringify(endpoint.operation.security) === '[]';
      if ((answer.status === 401 && !isPublic) || answer.status === 403 || answer.status === 500) {
        refused.push(`${endpoint.operation.operationId}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    }
    assert.deepEqual(refused, []);
    const me = await fetch(`${t.baseUrl}/api/v1/auth/me`);
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { role: string }).role, 'admin');
  });

  it('answers 404 for /docs and /docs-json', async () => {
    for (const path of ['/docs', '/docs-json']) {
      const res = await fetch(`${t.baseUrl}${path}`);
      assert.equal(res.status, 404, path);
      await res.arrayBuffer();
    }
  });
});

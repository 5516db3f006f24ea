/**
 * Drives the registry through a client generated from the live OpenAPI document. It is compiled
 * in strict mode against the generated types by openapi.e2e.spec.ts: an operation without
 * typed responses, or a field that is not documented, fails the compile.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from '../.generated/modelforge';

type Model = components['schemas']['ModelDto'];
type ErrorBody = components['schemas']['ErrorResponseDto'];
type CreatedApiKey = components['schemas']['CreatedApiKeyDto'];
type Caller = components['schemas']['MeDto'];

export interface DriveResult {
  /** The maintainer key the admin created through the client (createApiKey). */
  apiKey: Pick<CreatedApiKey, 'id' | 'name' | 'role' | 'prefix'> & { keyLooksRight: boolean };
  /** getCurrentCaller with that key, sent as Authorization: Bearer and as X-API-Key. */
  callerByBearer: Caller;
  callerByHeader: Caller;
  /** listApiKeys with the maintainer key: 403 (admin only). */
  forbidden: ErrorBody;
  /** getCurrentCaller without a credential: 401. */
  unauthenticated: ErrorBody;
  /** A maintainer user created through the client (createUser), logged in (login): its access token's caller. */
  callerByJwt: Caller;
  /** The model that access token created and deleted (createModel, deleteModel). */
  jwtModel: { created: string; deletedStatus: number };
  created: Model;
  listedNames: string[];
  patched: Model;
  versionsTotal: number;
  notFound: ErrorBody;
  conflict: ErrorBody;
  deletedStatus: number;
  readyStatus: number;
}

/**
 * `adminCredential`: an admin API key (or an admin access token), sent as `Authorization: Bearer`.
 * It only creates a maintainer key; everything else runs with that key.
 * The admin then creates a maintainer user; the client logs in as that user (login) and uses the
 * access token it returns as a Bearer credential.
 */
export async function driveRegistry(baseUrl: string, adminCredential: string): Promise<DriveResult> {
  const admin = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${adminCredential}` } });
  const key = await admin.POST('/api/v1/auth/keys', { body: { name: 'sdk-maintainer', role: 'maintainer' } });
  if (!key.data) throw new Error(`createApiKey failed: ${JSON.stringify(key.error)}`);

  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${key.data.key}` } });
  const byHeader = createClient<paths>({ baseUrl, headers: { 'X-API-Key': key.data.key } });
  const anonymous = createClient<paths>({ baseUrl });

  const callerByBearer = await client.GET('/api/v1/auth/me');
  if (!callerByBearer.data) throw new Error(`getCurrentCaller failed: ${JSON.stringify(callerByBearer.error)}`);
  const callerByHeader = await byHeader.GET('/api/v1/auth/me');
  if (!callerByHeader.data)
    throw new Error(`getCurrentCaller (X-API-Key) failed: ${JSON.stringify(callerByHeader.error)}`);
  const forbidden = await client.GET('/api/v1/auth/keys');
  if (!forbidden.error) throw new Error('listApiKeys with a maintainer key did not fail');
  const unauthenticated = await anonymous.GET('/api/v1/auth/me');
  if (!unauthenticated.error) throw new Error('getCurrentCaller without a credential did not fail');

  const user = await admin.POST('/api/v1/auth/users', {
    body: { username: 'sdk-user', password: 'sdk user passphrase', role: 'maintainer' },
  });
  if (!user.data) throw new Error(`createUser failed: ${JSON.stringify(user.error)}`);
  const login = await anonymous.POST('/api/v1/auth/login', {
    body: { username: 'sdk-user', password: 'sdk user passphrase' },
  });
  if (!login.data) throw new Error(`login failed: ${JSON.stringify(login.error)}`);
  const jwt = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${login.data.accessToken}` } });
  const callerByJwt = await jwt.GET('/api/v1/auth/me');
  if (!callerByJwt.data)
    throw new Error(`getCurrentCaller (access token) failed: ${JSON.stringify(callerByJwt.error)}`);
  const jwtCreated = await jwt.POST('/api/v1/models', { body: { name: 'sdk-jwt-model' } });
  if (!jwtCreated.data) throw new Error(`createModel (access token) failed: ${JSON.stringify(jwtCreated.error)}`);
  const jwtDeleted = await jwt.DELETE('/api/v1/models/{name}', { params: { path: { name: 'sdk-jwt-model' } } });

  const created = await client.POST('/api/v1/models', {
    body: { name: 'sdk-model', description: 'made by the generated client', tags: ['sdk'] },
  });
  if (!created.data) throw new Error(`createModel failed: ${JSON.stringify(created.error)}`);

  const conflict = await client.POST('/api/v1/models', { body: { name: 'sdk-model' } });
  if (!conflict.error) throw new Error('duplicate createModel did not fail');

  const listed = await client.GET('/api/v1/models', {
    params: { query: { q: 'sdk', tag: 'sdk', skip: 0, limit: 10 } },
  });
  if (!listed.data) throw new Error('listModels failed');

  const patched = await client.PATCH('/api/v1/models/{name}', {
    params: { path: { name: 'sdk-model' } },
    body: {
      description: 'patched through the SDK',
      batching: { enabled: true, maxBatchSize: 16, preferredBatchSizes: [8, 4] },
    },
  });
  if (!patched.data) throw new Error('updateModel failed');

  const versions = await client.GET('/api/v1/models/{name}/versions', { params: { path: { name: 'sdk-model' } } });
  if (!versions.data) throw new Error('listModelVersions failed');

  const missing = await client.GET('/api/v1/models/{name}/versions/{version}', {
    params: { path: { name: 'sdk-model', version: 1 } },
  });
  if (!missing.error) throw new Error('getModelVersion of a missing version did not fail');

  const deleted = await client.DELETE('/api/v1/models/{name}', { params: { path: { name: 'sdk-model' } } });
  const ready = await anonymous.GET('/health/ready');

  return {
    apiKey: {
      id: key.data.id,
      name: key.data.name,
      role: key.data.role,
      prefix: key.data.prefix,
      keyLooksRight: key.data.key.startsWith(`${key.data.prefix}_`),
    },
    callerByBearer: callerByBearer.data,
    callerByHeader: callerByHeader.data,
    forbidden: forbidden.error,
    unauthenticated: unauthenticated.error,
    callerByJwt: callerByJwt.data,
    jwtModel: { created: jwtCreated.data.name, deletedStatus: jwtDeleted.response.status },
    created: created.data,
    listedNames: listed.data.items.map((m) => m.name),
    patched: patched.data,
    versionsTotal: versions.data.total,
    notFound: missing.error,
    conflict: conflict.error,
    deletedStatus: deleted.response.status,
    readyStatus: ready.response.status,
  };
}

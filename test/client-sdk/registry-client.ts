/**
 * Drives the registry through a client generated from the live OpenAPI document. It is compiled
 * in strict mode against the generated types by openapi-client.e2e.spec.ts: an operation without
 * typed responses, or a field that is not documented, fails the compile.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from '../.generated/modelforge';

type Model = components['schemas']['ModelDto'];
type ErrorBody = components['schemas']['ErrorResponseDto'];

export interface DriveResult {
  created: Model;
  listedNames: string[];
  patched: Model;
  versionsTotal: number;
  notFound: ErrorBody;
  conflict: ErrorBody;
  deletedStatus: number;
  readyStatus: number;
}

/** `credential`: an API key or an access token, sent as `Authorization: Bearer`. */
export async function driveRegistry(baseUrl: string, credential: string): Promise<DriveResult> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${credential}` } });

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
    body: { description: 'patched through the SDK' },
  });
  if (!patched.data) throw new Error('updateModel failed');

  const versions = await client.GET('/api/v1/models/{name}/versions', { params: { path: { name: 'sdk-model' } } });
  if (!versions.data) throw new Error('listModelVersions failed');

  const missing = await client.GET('/api/v1/models/{name}/versions/{version}', {
    params: { path: { name: 'sdk-model', version: 1 } },
  });
  if (!missing.error) throw new Error('getModelVersion of a missing version did not fail');

  const deleted = await client.DELETE('/api/v1/models/{name}', { params: { path: { name: 'sdk-model' } } });
  const ready = await client.GET('/health/ready');

  return {
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

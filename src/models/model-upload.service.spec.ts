import assert from 'node:assert/strict';
import * as os from 'node:os';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { modelRow, versionRow } from '../../test/support/registry-rows';
import { callNames, CallLog, strictFake } from '../../test/support/strict-fake';
import type { Caller } from '../auth/caller';
import { AUTH_DISABLED_PRINCIPAL } from '../auth/principal';
import { UnprocessableError } from '../common/errors';
import type { AppConfig } from '../config/app-config';
import type { InferenceService, ModelInspection } from '../inference/inference.service';
import type { ArtifactStore, StagedArtifact } from '../storage/artifact-store';
import type { ModelChangedEvent, ModelEvents } from './model-events';
import { ModelUploadService } from './model-upload.service';
import type { ModelVersionRepository, NewVersion } from './model-version.repository';
import type { ModelRepository } from './model.repository';
import type { AuditRecord } from './registry-audit';
import type { UploadRequest } from './upload/multipart-upload';

const caller: Caller = { principal: AUTH_DISABLED_PRINCIPAL, requestId: 'unit' };
const iris = modelRow('iris', { versionCounter: 4 });
const staged: StagedArtifact = { sha256: 'f'.repeat(64), sizeBytes: 4, tempPath: '/staging/x' };
const inspection: ModelInspection = {
  irVersion: 8,
  opsetVersion: 17,
  producerName: 'unit',
  producerVersion: '1',
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 3] }],
  warmupMs: 1,
};

/** A multipart body with one `file` part, as a client sends it. */
function uploadRequest(): UploadRequest {
  const boundary = 'unit-boundary';
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\nfirst\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.onnx"\r\n` +
    `Content-Type: application/octet-stream\r\n\r\nonnx\r\n--${boundary}--\r\n`;
  return Object.assign(Readable.from([Buffer.from(body)]), {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
}

/**
 * ModelUploadService against strict fakes: the store stages any file part as `staged`; the
 * engine inspects it as given (or refuses it) and loads what it is asked to.
 */
function setup(inspect: () => Promise<ModelInspection>) {
  const log: CallLog = [];
  const events: ModelChangedEvent[] = [];
  const store = strictFake<ArtifactStore>(
    'store',
    {
      stage: async (source: Readable) => {
        for await (const chunk of source) void chunk;
        return staged;
      },
      commit: async () => 'key-f',
      discard: async () => undefined,
      remove: async () => undefined,
    },
    log,
  );
  const service = new ModelUploadService(
    strictFake<AppConfig>('config', {
      maxConcurrentUploads: 1,
      maxModelBytes: 1024,
      dataDir: os.tmpdir(),
      minFreeDiskBytes: 0,
    }),
    strictFake<ModelRepository>('models', { getByName: async () => iris }, log),
    strictFake<ModelVersionRepository>(
      'versions',
      {
        insert: async (model, fields: NewVersion, audit: (version: number) => AuditRecord) => {
          log.push({ call: 'audit', args: [audit(5)] });
          return versionRow(model as typeof iris, 5, fields);
        },
        isUsed: async () => false,
      },
      log,
    ),
    strictFake<ModelEvents>('events', { changed: async (event: ModelChangedEvent) => void events.push(event) }, log),
    store,
    strictFake<InferenceService>(
      'inference',
      { inspect, load: async () => undefined, unload: async () => undefined },
      log,
    ),
  );
  return { service, log, events };
}

describe('ModelUploadService', () => {
  it('inspects, commits the bytes and the row with its audit event, announces the version, then warms it', async () => {
    const { service, log, events } = setup(async () => inspection);
    const dto = await service.upload('iris', uploadRequest(), caller);
    assert.deepEqual(callNames(log), [
      'models.getByName',
      'store.stage',
      'inference.inspect',
      'store.commit',
      'versions.insert',
      'audit',
      'events.changed',
      'inference.load',
    ]);
    assert.deepEqual([dto.model, dto.version, dto.description, dto.sha256], ['iris', 5, 'first', staged.sha256]);
    const fields = log[4].args[1] as NewVersion;
    assert.deepEqual([fields.storageKey, fields.inputs, fields.status], ['key-f', inspection.inputs, 'ready']);
    assert.deepEqual((log[5].args[0] as AuditRecord).entry, {
      action: 'version.create',
      target: 'version:iris/5',
      details: { sha256: staged.sha256, sizeBytes: 4 },
    });
    assert.deepEqual(events, [{ model: 'iris', kind: 'version-added', servingChanged: true, released: [] }]);
    assert.deepEqual(log[7].args, [{ sha256: staged.sha256, storageKey: 'key-f', sizeBytes: 4 }]);
  });

  it('leaves nothing behind and announces nothing when the engine refuses the model', async () => {
    const { service, log, events } = setup(async () => {
      throw new UnprocessableError('not an ONNX model');
    });
    await assert.rejects(service.upload('iris', uploadRequest(), caller), UnprocessableError);
    assert.deepEqual(callNames(log), [
      'models.getByName',
      'store.stage',
      'inference.inspect',
      'store.discard',
      'versions.isUsed',
      'inference.unload',
    ]);
    assert.deepEqual(events, []);
  });
});

import assert from 'node:assert/strict';
import * as os from 'node:os';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { modelRow, publishedTo, versionRow } from '../../test/support/registry-rows';
import { callNames, CallLog, strictFake } from '../../test/support/strict-fake';
import type { Caller } from '../auth/caller';
import { AUTH_DISABLED_PRINCIPAL } from '../auth/principal';
import { UnprocessableError } from '../common/errors';
import type { AppConfig } from '../config/app-config';
import type { InferenceService, ModelInspection } from '../inference/inference.service';
import type { ArtifactStore, StagedArtifact } from '../storage/artifact-store';
import type { ModelChangedEvent } from './model-events';
import { ModelUploadService } from './model-upload.service';
import type { ModelVersionRepository, NewVersion } from './model-version.repository';
import type { ModelRepository } from './model.repository';
import type { AuditRecord } from './registry-audit';
import type { UploadRequest } from './upload/multipart-upload';

const caller: Caller = { principal: AUTH_DISABLED_PRINCIPAL, requestId: 'unit' };
const iris = modelRow('iris', { versionCounter: 4 });
const staged: StagedArtifact = { sha256: 'f'.repeat(64), sizeBytes: 4, tempPath: '/staging/x' };
const { irVersion, opsetVersion, producerName, producerVersion, inputs, outputs } = versionRow(iris, 5);
const inspection: ModelInspection = {
  irVersion,
  opsetVersion,
  producerName,
  producerVersion,
  inputs,
  outputs,
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
      commit: () => Promise.resolve('key-f'),
      discard: () => Promise.resolve(),
      remove: () => Promise.resolve(),
    },
    log,
  );
  const service = new ModelUploadService(
    strictFake<AppConfig>('config', {
      models: { maxConcurrentUploads: 1, maxModelBytes: 1024 },
      storage: { dataDir: os.tmpdir(), minFreeDiskBytes: 0 } as AppConfig['storage'],
    }),
    strictFake<ModelRepository>('models', { getByName: () => Promise.resolve(iris) }, log),
    strictFake<ModelVersionRepository>(
      'versions',
      {
        insert: (model, fields: NewVersion, audit: (version: number) => AuditRecord) => {
          log.push({ call: 'audit', args: [audit(5)] });
          return Promise.resolve(versionRow(model as typeof iris, 5, fields));
        },
        isUsed: () => Promise.resolve(false),
      },
      log,
    ),
    publishedTo(events, log),
    store,
    strictFake<InferenceService>(
      'inference',
      { inspect, load: () => Promise.resolve(), unload: () => Promise.resolve() },
      log,
    ),
  );
  return { service, log, events };
}

describe('ModelUploadService', () => {
  it('inspects, commits the bytes and the row with its audit event, announces the version, then warms it', async () => {
    const { service, log, events } = setup(() => Promise.resolve(inspection));
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
    const { service, log, events } = setup(() => Promise.reject(new UnprocessableError('not an ONNX model')));
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

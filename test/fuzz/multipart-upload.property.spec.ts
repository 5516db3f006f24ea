import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AppConfig } from '../../src/config/app-config';
import { loadEnvironment } from '../../src/config/environment';
import { ReceivedUpload, receiveModelUpload, UploadRequest } from '../../src/models/upload/multipart-upload';
import { LocalArtifactStore } from '../../src/storage/local-artifact-store';
import { listFiles } from '../support/test-app';
import { waitFor } from '../support/wait-for';
import { BodyLimits, GeneratedBody } from './fuzz-case';
import { multipartBody, validUpload } from './multipart-bodies';
import { described, isClientError, runs } from './property-support';

const LIMITS: BodyLimits = { json: 4096, registry: 4096, model: 16 * 1024, jobInstances: 10 };

function request(body: GeneratedBody, cuts: number[]): UploadRequest {
  const points = [0, ...cuts.map((c) => c % (body.body.length + 1)).sort((a, b) => a - b), body.body.length];
  const chunks = points.slice(1).map((end, i) => Buffer.from(body.body.subarray(points[i], end)));
  const stream = Readable.from(chunks.filter((c) => c.length > 0)) as UploadRequest;
  stream.headers = Object.fromEntries((body.headers ?? []).map(([name, value]) => [name.toLowerCase(), value]));
  return stream;
}

/** The file part of a valid generated upload, read back from its multipart body. */
function filePartOf(body: Uint8Array): Buffer {
  const text = Buffer.from(body);
  const start = text.indexOf('\r\n\r\n') + 4;
  const boundaryLine = text.subarray(0, text.indexOf('\r\n')).toString('latin1');
  const end = text.indexOf(`\r\n${boundaryLine}`, start);
  return text.subarray(start, end);
}

describe('receiveModelUpload (property)', () => {
  let dataDir: string;
  let store: LocalArtifactStore;
  let staging: string;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-multipart-'));
    store = new LocalArtifactStore(new AppConfig(loadEnvironment({ DATA_DIR: dataDir })));
    staging = path.join(dataDir, 'artifacts', '.staging');
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const chunked = (bodies: fc.Arbitrary<GeneratedBody>) =>
    fc
      .tuple(bodies, fc.array(fc.nat(), { maxLength: 6 }))
      .map(([body, cuts]) =>
        described({ body, cuts }, (v) => `${v.body.label}, ${v.body.body.length} bytes cut at ${v.cuts.join(',')}`),
      );

  it('stages exactly the file of a well-formed upload, however it is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(chunked(validUpload()), async ({ body, cuts }) => {
        const received = await receiveModelUpload(request(body, cuts), store, LIMITS.model);
        try {
          assert.deepEqual(fs.readFileSync(received.staged.tempPath), filePartOf(body.body));
          assert.equal(received.staged.sizeBytes, filePartOf(body.body).length);
        } finally {
          await store.discard(received.staged);
        }
        assert.deepEqual(listFiles(staging), []);
      }),
      runs(100),
    );
  });

  it('answers any broken or hostile multipart body with a 4xx domain error or a staged file, leaving no other file', async () => {
    const bodies = fc.oneof(
      { arbitrary: multipartBody(LIMITS), weight: 4 },
      {
        arbitrary: fc
          .tuple(
            fc.uint8Array({ maxLength: 400 }),
            fc.constantFrom('multipart/form-data; boundary=x', 'multipart/form-data'),
          )
          .map(([bytes, type]): GeneratedBody => ({
            body: bytes,
            label: 'random bytes',
            headers: [['Content-Type', type]],
          })),
        weight: 1,
      },
    );
    await fc.assert(
      fc.asyncProperty(chunked(bodies), async ({ body, cuts }) => {
        let result: { received?: ReceivedUpload; error?: unknown } | undefined;
        receiveModelUpload(request(body, cuts), store, LIMITS.model).then(
          (received) => (result = { received }),
          (error: unknown) => (result = { error }),
        );
        await waitFor(() => result !== undefined, { what: 'the upload to settle', timeoutMs: 10_000 });
        if (result?.received) {
          assert.ok(
            result.received.staged.sizeBytes <= LIMITS.model,
            `staged ${result.received.staged.sizeBytes} bytes`,
          );
          await store.discard(result.received.staged);
        } else if (!isClientError(result?.error)) {
          throw result?.error;
        }
        // A refused upload removes its staging file (asynchronously, after the answer).
        await waitFor(() => listFiles(staging).length === 0, { what: 'the staging folder to empty', timeoutMs: 5000 });
      }),
      runs(300),
    );
  });
});

import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { DomainError, InvalidInputError } from '../../common/errors';
import type { ArtifactStore, StagedArtifact } from '../../storage/artifact-store';
import { MAX_DESCRIPTION_LENGTH } from '../model-name';

export interface UploadRequest extends Readable {
  headers: IncomingHttpHeaders;
}

export interface ReceivedUpload {
  staged: StagedArtifact;
  description: string;
}

/**
 * Streams the `file` part of a multipart body into the store's staging area (hashing as it goes)
 * and reads the optional `description` field. Part count, field size and file size are limited
 * (CVE-2024-9056 class); nothing is held in memory. Fails as soon as a limit is passed.
 */
export function receiveModelUpload(
  request: UploadRequest,
  store: ArtifactStore,
  maxBytes: number,
): Promise<ReceivedUpload> {
  const type = request.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    return Promise.reject(
      new DomainError(
        'unsupported_media',
        "Upload the model as multipart/form-data with the .onnx file in the 'file' part",
      ),
    );
  }
  return new Promise<ReceivedUpload>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: request.headers,
        limits: {
          files: 1,
          fields: 4,
          parts: 5,
          fieldSize: MAX_DESCRIPTION_LENGTH * 4,
          headerPairs: 20,
          fileSize: maxBytes + 1,
        },
      });
    } catch (error) {
      reject(new InvalidInputError(`Malformed multipart request: ${(error as Error).message}`));
      return;
    }
    let staging: Promise<StagedArtifact> | undefined;
    let fileStream: Readable | undefined;
    let description = '';
    let problem: Error | undefined;
    let settled = false;

    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      request.unpipe(parser);
      request.resume(); // drain what the client still sends; nothing more is stored
      // An unfinished file part would never end once unpiped: end it so staging removes its file.
      if (fileStream && !fileStream.readableEnded) fileStream.destroy(error);
      if (staging) staging.then((staged) => store.discard(staged)).catch(() => undefined);
      reject(error);
    };

    parser.on('file', (field, stream) => {
      if (field !== 'file' || staging) {
        stream.resume();
        problem ??= new InvalidInputError(
          `Unexpected file part '${field}': send exactly one file, in the part named 'file'`,
        );
        return;
      }
      fileStream = stream;
      staging = store.stage(stream, maxBytes);
      staging.catch(fail);
    });
    parser.on('field', (field, value, info) => {
      if (field !== 'description') {
        problem ??= new InvalidInputError(`Unknown form field '${field}': only 'file' and 'description' are accepted`);
      } else if (info.valueTruncated || value.length > MAX_DESCRIPTION_LENGTH) {
        problem ??= new InvalidInputError(`description must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
      } else {
        description = value;
      }
    });
    const tooMany = () =>
      fail(new InvalidInputError("Too many parts: send exactly one file part named 'file' and at most a description"));
    parser.on('partsLimit', tooMany);
    parser.on('filesLimit', tooMany);
    parser.on('fieldsLimit', tooMany);
    parser.on('error', (error: Error) => fail(new InvalidInputError(`Malformed multipart request: ${error.message}`)));
    request.on('error', (error: Error) => fail(new InvalidInputError(`Upload interrupted: ${error.message}`)));
    parser.on('close', () => {
      if (settled) return;
      if (!staging) {
        fail(problem ?? new InvalidInputError("No file part: send the .onnx file in a multipart part named 'file'"));
        return;
      }
      staging.then(
        (staged) => {
          if (settled) return;
          if (problem) {
            void store.discard(staged); // best effort, never rejects: the request already failed
            fail(problem);
            return;
          }
          settled = true;
          resolve({ staged, description });
        },
        () => undefined, // already failed through `fail`
      );
    });
    request.pipe(parser);
  });
}

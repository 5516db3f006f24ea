import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boundedName } from '../common/bounded-text';
import { VersionNotFoundError } from '../common/errors';
import { parseVersionRef, VersionRef } from '../models/version-ref';
import type { OipServerMetadata } from './oip-types';

/** package.json's version: from dist/src/oip (built) the package root is three levels up. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** What GET /v2 and gRPC ServerMetadata answer. */
export const SERVER_METADATA: OipServerMetadata = Object.freeze({
  name: 'modelforge',
  version: packageVersion(),
  extensions: ['binary_tensor_data'],
});

/**
 * A version in a protocol path (`/versions/{v}`, gRPC `model_version`): the protocol spells it as
 * a string; ModelForge's are positive integers or alias names. Empty or absent means the latest
 * ready version. Anything else names no version of the model (404).
 */
export function parseVersion(model: string, version: string | undefined): VersionRef | undefined {
  if (version === undefined) return undefined;
  const ref = parseVersionRef(version);
  if (ref === null) throw new VersionNotFoundError(model, boundedName(version));
  return ref;
}

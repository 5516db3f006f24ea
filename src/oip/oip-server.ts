import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boundedName } from '../common/bounded-text';
import { VersionNotFoundError } from '../common/errors';
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
 * a string; ModelForge's are positive integers. Empty or absent means the latest ready version.
 * Anything else names no version of the model (404).
 */
export function parseVersion(model: string, version: string | undefined): number | undefined {
  if (version === undefined || version === '') return undefined;
  if (/^[1-9]\d{0,8}$/.test(version)) return Number(version);
  throw new VersionNotFoundError(model, boundedName(version));
}

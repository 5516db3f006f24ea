import * as fs from 'node:fs';
import * as path from 'node:path';
import { PATH_METADATA } from '@nestjs/common/constants';
import { getMetadataStorage } from 'class-validator';
import { parseAllDocuments } from 'yaml';
import { Environment } from '../../src/config/environment';
import { HealthController } from '../../src/health/health.controller';

/**
 * What the deployment files (Kubernetes manifests, docker-compose.yml, railway.json, the CI
 * workflow, the Dockerfile) are checked against: the app's own configuration schema and routes,
 * read from the code so that a renamed variable or route fails the deployment specs.
 */

/** The repository root (specs run from dist/test/...). */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

export function repoFile(relative: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, relative), 'utf8');
}

/** Every YAML document of a file (`---` separated), as plain data; YAML merge keys (`<<`) applied. */
export function yamlDocuments(relative: string): unknown[] {
  return parseAllDocuments(repoFile(relative), { merge: true }).map((document) => {
    if (document.errors.length > 0) throw new Error(`${relative}: ${document.errors[0].message}`);
    return document.toJS() as unknown;
  });
}

/** Variables the AWS SDK reads itself (the S3 store's credentials): the app's schema does not list them. */
export const AWS_SDK_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** Every variable the configuration schema validates, those without a default included. */
export function schemaVariables(): string[] {
  const names = getMetadataStorage()
    .getTargetValidationMetadatas(Environment, '', true, false)
    .map((m) => m.propertyName);
  return [...new Set(names)].sort();
}

/** Names a deployment file may set: the schema's, the AWS SDK's, and the pending ones. */
export function knownVariables(): Set<string> {
  return new Set([...schemaVariables(), ...AWS_SDK_VARIABLES]);
}

/** The setting a process gets for `name` from `env`, else the schema's default. */
export function settingOf(env: Record<string, string>, name: keyof Environment): string {
  return env[name] ?? String((new Environment() as unknown as Record<string, unknown>)[name]);
}

/** How long main.ts may take to exit after SIGTERM with these settings: SHUTDOWN_DRAIN_MS + SHUTDOWN_GRACE_MS. */
export function shutdownMs(env: Record<string, string>): number {
  return Number(settingOf(env, 'SHUTDOWN_DRAIN_MS')) + Number(settingOf(env, 'SHUTDOWN_GRACE_MS'));
}

/** The probe routes as HealthController declares them (`/health/live`, `/health/ready`). */
export function healthRoutes(): { live: string; ready: string } {
  const base = Reflect.getMetadata(PATH_METADATA, HealthController) as string;
  const route = (method: keyof HealthController): string => {
    const handler = HealthController.prototype[method] as object;
    return `/${base}/${Reflect.getMetadata(PATH_METADATA, handler) as string}`.replace(/\/+/g, '/');
  };
  return { live: route('live'), ready: route('ready') };
}

/** A YAML mapping's string values by key (numbers and booleans as written), for env blocks. */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries((value ?? {}) as Record<string, unknown>)) out[key] = String(v);
  return out;
}

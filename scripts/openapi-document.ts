/**
 * Writes the OpenAPI document the service serves at /docs-json to a file, without starting a
 * server, so `npm run lint:openapi` can lint exactly what clients download.
 * Usage (after tsc): node dist/scripts/openapi-document.js <output.json>
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { createApp } from '../src/app.factory';
import { AppConfig } from '../src/config/app-config';
import { loadEnvironment } from '../src/config/environment';
import { buildOpenApiDocument } from '../src/openapi';

async function main(output: string | undefined): Promise<void> {
  if (!output) throw new Error('usage: node dist/scripts/openapi-document.js <output.json>');
  // The document depends on code only: an embedded database in a throwaway directory is enough.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-openapi-'));
  try {
    const config = new AppConfig(
      loadEnvironment({
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        DOCS_ENABLED: 'true',
        ADMIN_API_KEY: randomBytes(32).toString('base64url'),
      }),
    );
    const app = await createApp(config, pino({ level: 'silent' }));
    try {
      const document = buildOpenApiDocument(app);
      fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
      fs.writeFileSync(output, `${JSON.stringify(document, null, 2)}\n`);
    } finally {
      await app.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppConfig } from '../config/app-config';
import { loadEnvironment } from '../config/environment';
import { artifactStoreContract } from './artifact-store.contract';
import { LocalArtifactStore } from './local-artifact-store';

artifactStoreContract('local', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-local-store-'));
  const store = new LocalArtifactStore(new AppConfig(loadEnvironment({ DATA_DIR: dataDir })));
  return Promise.resolve({
    store,
    dataDir,
    close: () => fs.promises.rm(dataDir, { recursive: true, force: true }),
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { exampleModels } from './example-models';

const EXAMPLES = path.resolve(__dirname, '../../examples');

describe('example models', () => {
  it('commits each example model exactly as scripts/example-models.ts builds it', () => {
    for (const [name, built] of Object.entries(exampleModels())) {
      const file = path.join(EXAMPLES, name);
      assert.ok(fs.existsSync(file), `examples/${name} is missing: run npm run examples and commit it`);
      assert.ok(
        fs.readFileSync(file).equals(built),
        `examples/${name} differs from what scripts/example-models.ts builds: run npm run examples and commit it`,
      );
    }
  });
});

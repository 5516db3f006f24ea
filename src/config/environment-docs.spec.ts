import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { getMetadataStorage } from 'class-validator';
import { Environment } from './environment';

/**
 * The two places that document the environment, against the schema: `.env.example` sets every
 * variable to its default (or shows it commented out when it has none), and README's
 * Configuration section names every variable.
 */

const ROOT = path.resolve(__dirname, '../../..');
const ENV_EXAMPLE = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** Every variable the schema validates, those without a default included. */
const VARIABLES = [
  ...new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(Environment, '', true, false)
      .map((m) => m.propertyName),
  ),
].sort();
const DEFAULTS = new Environment() as unknown as Record<string, unknown>;

describe('documented environment', () => {
  it('finds the variables of the schema', () => {
    assert.ok(VARIABLES.length >= 70, `only ${VARIABLES.length} variables`);
    assert.ok(VARIABLES.includes('ADMIN_API_KEY') && VARIABLES.includes('PORT'));
  });

  it('.env.example sets each variable to its default, or shows it commented out when it has none', () => {
    const set = new Map<string, string>();
    const commented = new Set<string>();
    for (const line of ENV_EXAMPLE.split('\n')) {
      const assignment = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (assignment) set.set(assignment[1], assignment[2]);
      const shown = /^# ([A-Z][A-Z0-9_]*)=/.exec(line);
      if (shown) commented.add(shown[1]);
    }
    for (const name of VARIABLES) {
      const value = DEFAULTS[name];
      if (value === undefined) assert.ok(commented.has(name), `.env.example shows ${name}`);
      else assert.equal(set.get(name), String(value), `.env.example sets ${name} to its default`);
    }
    for (const name of set.keys())
      assert.ok(VARIABLES.includes(name), `.env.example sets ${name}, which nothing reads`);
  });

  it("README's Configuration section names each variable", () => {
    const start = README.indexOf('\n## Configuration\n');
    assert.ok(start >= 0, 'README has a Configuration section');
    const section = README.slice(start, README.indexOf('\n## ', start + 1));
    const named = new Set<string>();
    for (const line of section.split('\n')) {
      let previous = '';
      for (const [, token] of line.matchAll(/`([A-Z][A-Z0-9_<>]*|_[A-Z0-9_]+)`/g)) {
        if (token.startsWith('_') && previous) {
          // `PREDICTION_LOG_FLUSH_MS` / `_BATCH_SIZE`: the suffix replaces as many parts of the name before it.
          const parts = previous.split('_');
          named.add(parts.slice(0, parts.length - token.split('_').length + 1).join('_') + token);
        } else if (token.includes('<ROLE>')) {
          for (const role of ['ADMIN', 'MAINTAINER', 'PREDICTOR', 'VIEWER']) named.add(token.replace('<ROLE>', role));
        } else {
          named.add(token);
          previous = token;
        }
      }
    }
    assert.deepEqual(
      VARIABLES.filter((name) => !named.has(name)),
      [],
      'variables missing from README',
    );
  });
});

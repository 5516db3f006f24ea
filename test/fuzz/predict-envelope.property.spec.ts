import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parsePredictBody } from '../../src/inference/predict-envelope';
import { MODEL_NAME_PATTERN } from '../../src/models/model-name';
import { isAlias } from '../../src/models/version-ref';
import { utf8 } from './fuzz-case';
import { hostileValue } from './hostile-values';
import { brokenJson, mutatedJson } from './json-bodies';
import { toJsonText } from './json-text';
import { resultOrClientError, runs } from './property-support';

const validEnvelope = fc.record(
  {
    model: fc.stringMatching(MODEL_NAME_PATTERN),
    version: fc.integer({ min: 1, max: 2_147_483_647 }),
    inputs: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
    outputs: fc.uniqueArray(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 5 }),
  },
  { requiredKeys: ['model', 'inputs'] },
);

/** The parser's promise: a checked envelope, or a 4xx domain error; never another exception. */
function parseChecked(bytes: Uint8Array): void {
  const envelope = resultOrClientError(() => parsePredictBody(bytes));
  if (envelope === undefined) return;
  assert.match(envelope.model, MODEL_NAME_PATTERN);
  const { version } = envelope;
  if (typeof version === 'number') assert.ok(Number.isInteger(version) && version >= 1 && version <= 2_147_483_647);
  else if (version !== undefined) assert.ok(isAlias(version), `version '${version}' accepted`);
  assert.ok(envelope.inputs !== null && typeof envelope.inputs === 'object' && !Array.isArray(envelope.inputs));
  if (envelope.outputs !== undefined) {
    assert.ok(envelope.outputs.length > 0 && envelope.outputs.every((o) => typeof o === 'string'));
  }
}

describe('parsePredictBody (property)', () => {
  it('returns exactly the fields of a valid envelope', () => {
    fc.assert(
      fc.property(validEnvelope, (body) => {
        const text = JSON.stringify(body);
        const envelope = parsePredictBody(utf8(text));
        assert.deepEqual(JSON.parse(JSON.stringify(envelope)), JSON.parse(text));
      }),
      runs(300),
    );
  });

  it('answers any bytes with an envelope or a 4xx domain error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), parseChecked), runs(500));
  });

  it('answers broken JSON, hostile fields and deep nesting with an envelope or a 4xx domain error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          brokenJson(validEnvelope).map((g) => g.body),
          mutatedJson(validEnvelope).map((m) => utf8(toJsonText(m.value))),
          hostileValue.map((h) => utf8(toJsonText(h.value))),
        ),
        parseChecked,
      ),
      runs(500),
    );
  });
});

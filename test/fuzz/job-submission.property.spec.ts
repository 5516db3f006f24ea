import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PayloadTooLargeError } from '../../src/common/errors';
import { parseJobBody } from '../../src/jobs/submission-source';
import { MODEL_NAME_PATTERN } from '../../src/models/model-name';
import { isAlias } from '../../src/models/version-ref';
import { hostileValue } from './hostile-values';
import { mutatedJson } from './json-bodies';
import { ndjsonInstances, ndjsonLines } from './ndjson-reader';
import { asParsedJson, described, isClientError, preview, resultOrClientError, runs } from './property-support';

const MAX_LINE = 64;

/** The same bytes cut into chunks at arbitrary places (empty chunks included). */
function chunkings(bytes: Uint8Array): fc.Arbitrary<Uint8Array[]> {
  return fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 8 }).map((cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
    return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
  });
}

/** Bytes that look like NDJSON often: JSON lines, blank lines, CR, multi-byte and invalid UTF-8. */
const ndjsonishBytes: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.oneof(
      fc.constantFrom('\n', '\r\n', '', '  ', '{"inputs": {"x": 1}}', '{"inputs":', 'é', '😀', '\u0000', 'null', '[1]'),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ inputs: v })),
      fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('latin1')),
    ),
    { maxLength: 12 },
  )
  .chain((pieces) =>
    fc.boolean().map((raw) => {
      // Either UTF-8 text, or the same pieces as raw single bytes (invalid UTF-8 sequences and all).
      const text = pieces.join('');
      return new Uint8Array(raw ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8'));
    }),
  );

/** What the reader must give: the text split at '\n' (no empty last line), or a 413 for a long line. */
function expectedLines(bytes: Uint8Array, maxLine: number): string[] | 'too long' {
  const raw = Buffer.from(bytes);
  const pieces: Buffer[] = [];
  for (let start = 0; start < raw.length;) {
    const nl = raw.indexOf(10, start);
    const end = nl === -1 ? raw.length : nl;
    pieces.push(raw.subarray(start, end));
    start = end + 1;
  }
  if (pieces.some((p) => p.length > maxLine)) return 'too long';
  return pieces.map((p) => p.toString('utf8'));
}

async function outcome<T>(run: () => Promise<T>): Promise<{ value?: T; error?: string }> {
  try {
    return { value: await run() };
  } catch (error) {
    if (!isClientError(error)) throw error;
    return { error: `${error.name}: ${error.message}` };
  }
}

describe('NDJSON job reader (property)', () => {
  it('reads the same lines however the bytes are chunked, and refuses a long line with 413', async () => {
    const cases = ndjsonishBytes.chain((bytes) =>
      chunkings(bytes).map((chunks) =>
        described(
          { bytes, chunks },
          (v) => `${v.chunks.length} chunks of ${preview(Buffer.from(v.bytes).toString('latin1'))}`,
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ bytes, chunks }) => {
        const expected = expectedLines(bytes, MAX_LINE);
        if (expected === 'too long') {
          await assert.rejects(ndjsonLines(chunks, MAX_LINE), PayloadTooLargeError);
        } else {
          assert.deepEqual(await ndjsonLines(chunks, MAX_LINE), expected);
        }
      }),
      runs(500),
    );
  });

  it('takes a line of exactly the limit and refuses one byte more, wherever the chunks are cut', async () => {
    const lengths = fc.array(fc.constantFrom(0, 1, MAX_LINE - 1, MAX_LINE, MAX_LINE + 1), {
      minLength: 1,
      maxLength: 4,
    });
    const cases = fc
      .tuple(lengths, fc.boolean())
      .chain(([ls, finalNewline]) => {
        const text = ls.map((n) => 'é'.repeat(n >> 1) + 'x'.repeat(n & 1)).join('\n') + (finalNewline ? '\n' : '');
        const bytes = new Uint8Array(Buffer.from(text));
        return chunkings(bytes).map((chunks) => ({ bytes, chunks }));
      })
      .map((v) => described(v, ({ bytes, chunks }) => `${chunks.length} chunks of ${Buffer.from(bytes).toString()}`));
    await fc.assert(
      fc.asyncProperty(cases, async ({ bytes, chunks }) => {
        const expected = expectedLines(bytes, MAX_LINE);
        if (expected === 'too long') await assert.rejects(ndjsonLines(chunks, MAX_LINE), PayloadTooLargeError);
        else assert.deepEqual(await ndjsonLines(chunks, MAX_LINE), expected);
      }),
      runs(300),
    );
  });

  it('turns any bytes into instances or a 4xx domain error, the same instances for every chunking', async () => {
    const cases = ndjsonishBytes.chain((bytes) =>
      fc
        .tuple(chunkings(bytes), chunkings(bytes))
        .map(([a, b]) => described({ a, b }, () => preview(Buffer.from(bytes).toString('latin1')))),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ a, b }) => {
        const first = await outcome(() => ndjsonInstances(a, 256));
        const second = await outcome(() => ndjsonInstances(b, 256));
        // With several problems in one upload, which is reported first may depend on how far the
        // reader got; whether the upload is refused may not.
        assert.equal(first.error === undefined, second.error === undefined, `${first.error} / ${second.error}`);
        assert.deepEqual(first.value, second.value);
        first.value?.forEach((instance, i) => assert.equal(instance.index, i));
      }),
      runs(500),
    );
  });

  it('numbers the instances of valid NDJSON in order, skipping blank lines', async () => {
    const cases = fc
      .array(fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('\n', '\r\n', '\n\n', '\n  \n')), {
        minLength: 1,
        maxLength: 10,
      })
      .chain((lines) => {
        const bytes = new Uint8Array(
          Buffer.from(lines.map(([v, eol]) => `${JSON.stringify({ inputs: v })}${eol}`).join('')),
        );
        return chunkings(bytes).map((chunks) => ({
          inputs: lines.map(([v]) => JSON.parse(JSON.stringify(v)) as unknown),
          chunks,
        }));
      });
    await fc.assert(
      fc.asyncProperty(cases, async ({ inputs, chunks }) => {
        const instances = await ndjsonInstances(chunks, 1 << 20);
        assert.deepEqual(
          instances.map((i) => [i.index, i.field, i.inputs]),
          inputs.map((v, i) => [i, `instances[${i}]`, v]),
        );
      }),
      runs(300),
    );
  });
});

describe('parseJobBody (property)', () => {
  const validJob = fc.record(
    {
      model: fc.stringMatching(MODEL_NAME_PATTERN),
      version: fc.integer({ min: 1, max: 2_147_483_647 }),
      instances: fc.array(fc.record({ inputs: fc.jsonValue({ maxDepth: 2 }) }), { minLength: 1, maxLength: 4 }),
    },
    { requiredKeys: ['model', 'instances'] },
  );

  function parseChecked(body: unknown): void {
    const parsed = resultOrClientError(() => parseJobBody(body));
    if (!parsed) return;
    assert.match(parsed.target.model, MODEL_NAME_PATTERN);
    const { version } = parsed.target;
    // The version column is a 32-bit integer: anything larger must be refused here, not by the database.
    if (typeof version === 'number') {
      assert.ok(Number.isInteger(version) && version >= 1 && version <= 2_147_483_647, `version ${version} accepted`);
    } else if (version !== undefined) assert.ok(isAlias(version), `version '${version}' accepted`);
    assert.ok(Array.isArray(parsed.instances) && parsed.instances.length > 0);
  }

  it('returns the target and instances of a valid body', () => {
    fc.assert(
      fc.property(validJob, (job) => {
        const parsed = parseJobBody(job);
        assert.deepEqual(parsed.target, { model: job.model, version: job.version });
        assert.equal(parsed.instances, job.instances);
      }),
      runs(300),
    );
  });

  it('accepts a version only as an integer from 1 to 2147483647', () => {
    const version = fc.oneof(
      fc.integer({ min: -10, max: 10 }),
      fc.constantFrom(2_147_483_647, 2_147_483_648, 4_294_967_296, 2 ** 53, 1e20, 1e308, 0.5, -0),
      fc.double(),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(validJob, version, (job, v) => parseChecked({ ...job, version: v })),
      runs(300),
    );
  });

  it('answers any JSON value, hostile fields and deep nesting with a checked body or a 4xx domain error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          hostileValue.map((h) => asParsedJson(h.value)),
          mutatedJson(validJob).map((m) => asParsedJson(m.value)),
        ),
        parseChecked,
      ),
      runs(500),
    );
  });
});

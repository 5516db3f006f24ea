/** NDJSON job submissions: valid lines, broken lines, blank lines, a line past the limit, too many lines. */
import fc from 'fast-check';
import { BodyLimits, GeneratedBody, utf8 } from './fuzz-case';
import { deepValue, Labelled } from './hostile-values';
import { INVALID_UTF8, mutatedJson } from './json-bodies';
import { toJsonText } from './json-text';

/** One to five valid NDJSON lines. */
export function validNdjson(instance: fc.Arbitrary<unknown>): fc.Arbitrary<GeneratedBody> {
  return fc
    .array(
      instance.map((i) => toJsonText(i)),
      { minLength: 1, maxLength: 5 },
    )
    .map((ls) => ({ body: utf8(ls.map((l) => `${l}\n`).join('')), label: 'valid NDJSON' }));
}

/** NDJSON bodies: valid lines, broken lines, blank lines, a line past the limit, too many lines. */
export function ndjsonBody(
  instance: fc.Arbitrary<unknown>,
  limits: BodyLimits,
  tensor?: { input: string; values: fc.Arbitrary<Labelled<unknown>> },
): fc.Arbitrary<GeneratedBody> {
  const line = instance.map((i) => toJsonText(i));
  const lines = fc.array(line, { minLength: 1, maxLength: 5 });
  const join = (ls: string[], eol = '\n') => utf8(ls.join(eol) + eol);
  return fc.oneof(
    { arbitrary: validNdjson(instance), weight: 3 },
    lines.map((ls) => ({ body: join(ls, '\r\n'), label: 'CRLF NDJSON' })),
    lines.map((ls) => ({ body: utf8(ls.join('\n')), label: 'no final newline' })),
    lines.map((ls) => ({ body: join(['', '  ', ...ls, '', '']), label: 'blank lines' })),
    fc.tuple(lines, mutatedJson(instance)).map(([ls, bad]) => ({
      body: join([...ls, toJsonText(bad.value)]),
      label: `NDJSON line ${ls.length + 1}: ${bad.label}`,
    })),
    fc
      .tuple(lines, fc.constantFrom('{"inputs": ', '[1,2]', 'null', '"x"', 'garbage', '{}', '\u0000'))
      .map(([ls, bad]) => ({ body: join([...ls, bad]), label: `NDJSON bad line ${JSON.stringify(bad)}` })),
    fc.tuple(line, fc.constantFrom(...INVALID_UTF8)).map(([l, bytes]) => ({
      body: new Uint8Array(Buffer.concat([Buffer.from(l), Buffer.from(bytes), Buffer.from('\n')])),
      label: 'NDJSON invalid UTF-8',
    })),
    deepValue.map((d) => ({ body: join([`{"inputs": {"x": ${toJsonText(d.value)}}}`]), label: `NDJSON ${d.label}` })),
    fc.constantFrom(limits.json + 1, limits.json + 100).map((size) => ({
      body: utf8(`{"inputs": {"x": "${'x'.repeat(size)}"}}\n`),
      label: `NDJSON line over ${limits.json} bytes`,
    })),
    line.map((l) => ({
      body: join(new Array<string>(limits.jobInstances + 1).fill(l)),
      label: `${limits.jobInstances + 1} instances (one over the limit)`,
    })),
    fc.constantFrom('', '\n', '\n\n\n').map((t) => ({ body: utf8(t), label: `empty NDJSON ${JSON.stringify(t)}` })),
    ...(tensor
      ? [
          fc.tuple(lines, tensor.values).map(([ls, t]) => ({
            body: join([...ls, toJsonText({ inputs: { [tensor.input]: t.value } })]),
            label: `NDJSON line ${ls.length + 1}: ${t.label}`,
          })),
        ]
      : []),
  );
}

/** Multipart model uploads: valid ones, unusable files, and every way a multipart body can be broken. */
import fc from 'fast-check';
import {
  externalDataModel,
  mlpModel,
  modelWithoutGraph,
  modelWithoutOpset,
  unknownDomainModel,
} from '../support/onnx-models';
import { BodyLimits, GeneratedBody, utf8 } from './fuzz-case';
import { hostileObject, hostileString } from './hostile-values';
import { toJsonText } from './json-text';

interface Part {
  headers: string[];
  content: Uint8Array;
}

function filePart(content: Uint8Array, name = 'file', filename = 'model.onnx'): Part {
  return {
    headers: [
      `Content-Disposition: form-data; name="${name}"; filename="${filename}"`,
      'Content-Type: application/octet-stream',
    ],
    content,
  };
}

function fieldPart(name: string, value: string): Part {
  return { headers: [`Content-Disposition: form-data; name="${name}"`], content: utf8(value) };
}

function encodeMultipart(boundary: string, parts: Part[], { close = true, eol = '\r\n' } = {}): Uint8Array {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}${eol}${part.headers.map((h) => `${h}${eol}`).join('')}${eol}`, 'utf8'));
    chunks.push(Buffer.from(part.content), Buffer.from(eol));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--${eol}`));
  return new Uint8Array(Buffer.concat(chunks));
}

/** The models a valid upload carries: small, loadable, all with the same signature. */
export const VALID_MODELS = [1, 2, 3].map((seed) => new Uint8Array(mlpModel({ seed })));

const UNUSABLE_MODELS: Array<[string, () => Uint8Array]> = [
  ['external-data model', () => new Uint8Array(externalDataModel())],
  ['unknown-domain model', () => new Uint8Array(unknownDomainModel())],
  ['model without graph', () => new Uint8Array(modelWithoutGraph())],
  ['model without opset', () => new Uint8Array(modelWithoutOpset())],
];

const BOUNDARY = fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,40}$/).map((b) => `fz${b}`);

/** The boundary parameter, quoted when it holds characters a bare token cannot (RFC 2046). */
function multipartType(boundary: string): Array<[string, string]> {
  const value = /^[A-Za-z0-9_.+-]+$/.test(boundary) ? boundary : `"${boundary}"`;
  return [['Content-Type', `multipart/form-data; boundary=${value}`]];
}

/** A well-formed upload of a loadable model, with or without a description. */
export function validUpload(): fc.Arbitrary<GeneratedBody> {
  return fc
    .tuple(BOUNDARY, fc.constantFrom(...VALID_MODELS), fc.option(fc.string({ maxLength: 40 }), { nil: undefined }))
    .map(([b, model, description]) => ({
      body: encodeMultipart(
        b,
        description === undefined ? [filePart(model)] : [filePart(model), fieldPart('description', description)],
      ),
      label: 'valid upload',
      headers: multipartType(b),
    }));
}

/** Upload bodies: valid, unusable files, and every way a multipart body can be broken. */
export function multipartBody(limits: BodyLimits): fc.Arbitrary<GeneratedBody> {
  const boundary = BOUNDARY;
  const typeFor = multipartType;
  const valid = fc.constantFrom(...VALID_MODELS);
  const description = fc.option(fc.string({ maxLength: 40 }), { nil: undefined });
  const upload = (label: string, parts: fc.Arbitrary<Part[]>, options?: { close?: boolean; eol?: string }) =>
    fc.tuple(boundary, parts).map(([b, ps]) => ({ body: encodeMultipart(b, ps, options), label, headers: typeFor(b) }));
  const withDescription = (file: fc.Arbitrary<Uint8Array>) =>
    fc
      .tuple(file, description)
      .map(([f, d]) => (d === undefined ? [filePart(f)] : [filePart(f), fieldPart('description', d)]));

  return fc.oneof(
    { arbitrary: validUpload(), weight: 2 },
    upload('random bytes as model', withDescription(fc.uint8Array({ minLength: 0, maxLength: 3000 }))),
    upload(
      'truncated model',
      valid.chain((m) => fc.integer({ min: 0, max: m.length - 1 }).map((n) => [filePart(m.subarray(0, n))])),
    ),
    upload(
      'model with trailing garbage',
      fc
        .tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 64 }))
        .map(([m, g]) => [filePart(new Uint8Array(Buffer.concat([m, g])))]),
    ),
    fc
      .tuple(boundary, fc.constantFrom(...UNUSABLE_MODELS))
      .map(([b, [label, build]]) => ({ body: encodeMultipart(b, [filePart(build())]), label, headers: typeFor(b) })),
    upload(
      `file over MAX_MODEL_BYTES (${limits.model})`,
      fc.constantFrom(limits.model + 1, limits.model + 1000).map((n) => [filePart(new Uint8Array(n))]),
    ),
    upload(
      'description too long',
      valid.map((m) => [filePart(m), fieldPart('description', 'd'.repeat(2001))]),
    ),
    upload(
      'hostile description',
      fc.tuple(valid, hostileString).map(([m, s]) => [filePart(m), fieldPart('description', s.value)]),
    ),
    upload(
      'unknown field',
      valid.map((m) => [fieldPart('extra', 'x'), filePart(m)]),
    ),
    upload(
      'two file parts',
      valid.map((m) => [filePart(m), filePart(m)]),
    ),
    upload(
      'file in the wrong part',
      valid.map((m) => [filePart(m, 'model')]),
    ),
    upload('no file part', fc.constant([fieldPart('description', 'x')])),
    upload('no parts', fc.constant([])),
    upload(
      'many parts',
      fc.integer({ min: 6, max: 400 }).map((n) => Array.from({ length: n }, (_, i) => fieldPart(`f${i}`, 'x'))),
    ),
    upload(
      'hostile filename',
      fc
        .tuple(
          valid,
          fc.constantFrom(
            '../../etc/passwd',
            '..%2f..%2fx.onnx',
            'a\u0000b.onnx',
            '',
            '\u202egnp.onnx',
            'x'.repeat(5000),
          ),
        )
        .map(([m, f]) => [filePart(m, 'file', f)]),
    ),
    upload(
      'part without Content-Disposition',
      valid.map((m) => [{ headers: ['Content-Type: application/octet-stream'], content: m }]),
    ),
    upload(
      'part with a huge header',
      valid.map((m) => [{ headers: [...filePart(m).headers, `X-Junk: ${'j'.repeat(20_000)}`], content: m }]),
    ),
    upload(
      'part with many headers',
      valid.map((m) => [
        { headers: [...filePart(m).headers, ...Array.from({ length: 60 }, (_, i) => `X-H${i}: v`)], content: m },
      ]),
    ),
    upload('unterminated multipart (no closing boundary)', withDescription(valid), { close: false }),
    fc.tuple(boundary, valid, fc.nat()).map(([b, m, at]) => {
      const full = encodeMultipart(b, [filePart(m)]);
      const cut = 1 + (at % (full.length - 1));
      return {
        body: full.subarray(0, cut),
        label: `multipart cut at byte ${cut} of ${full.length}`,
        headers: typeFor(b),
      };
    }),
    upload('LF-only line endings', withDescription(valid), { eol: '\n' }),
    fc.tuple(boundary, boundary, valid).map(([b, other, m]) => ({
      body: encodeMultipart(other, [filePart(m)]),
      label: 'boundary in the header differs from the body',
      headers: typeFor(b === other ? `${b}x` : b),
    })),
    fc
      .tuple(
        valid,
        fc.constantFrom(
          'multipart/form-data',
          'multipart/form-data; boundary=',
          'multipart/form-data; boundary="unterminated',
          `multipart/form-data; boundary=${'b'.repeat(300)}`,
          'multipart/form-data; boundary=a\u0000b',
          'multipart/form-data; boundary=fz; boundary=other',
          'multipart/mixed; boundary=fz',
          'multipart/form-data; charset=utf-16; boundary=fz',
          'application/json',
          'application/octet-stream',
          '',
        ),
      )
      .map(([m, type]) => ({
        body: encodeMultipart('fz', [filePart(m)]),
        label: `upload with Content-Type ${JSON.stringify(type.slice(0, 60))}`,
        headers: type === '' ? [] : [['Content-Type', type] as [string, string]],
      })),
    fc.tuple(boundary, fc.uint8Array({ minLength: 0, maxLength: 500 })).map(([b, bytes]) => ({
      body: bytes,
      label: 'random bytes as multipart',
      headers: typeFor(b),
    })),
    hostileObject.map((h) => ({
      body: utf8(toJsonText(h.value)),
      label: `JSON (${h.label}) sent as multipart`,
      headers: typeFor('fz'),
    })),
  );
}

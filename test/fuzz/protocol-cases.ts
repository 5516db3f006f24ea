/** Odd headers, broken HTTP framing and routes the document does not have. */
import fc from 'fast-check';
import { FuzzCase, utf8 } from './fuzz-case';

export interface HeaderCase {
  headers: Array<[string, string]>;
  label: string;
}

export function oddHeader(): fc.Arbitrary<HeaderCase> {
  const one = (name: string, values: string[]) =>
    fc.constantFrom(...values).map((v) => ({
      headers: [[name, v]] as Array<[string, string]>,
      label: `${name}: ${v.length > 40 ? `${v.slice(0, 20)}… (${v.length} chars)` : JSON.stringify(v)}`,
    }));
  return fc.oneof(
    one('X-Request-Id', [
      'x'.repeat(129),
      'x'.repeat(1000),
      'x'.repeat(8000),
      'x'.repeat(17_000),
      '',
      'a b',
      '../../x',
      '<script>',
      'ü',
      'a\u0001b',
    ]),
    one('Cache-Control', [
      'no-cache',
      'no-store',
      'max-age=0',
      'max-age=-1',
      'max-age=99999999999999999999',
      'no-cache, no-cache, no-store',
      'only-if-cached',
      'no-transform, garbage=,,',
      'x'.repeat(5000),
    ]),
    one('Accept', ['text/html', 'application/xml', '*/*;q=0', 'application/json;q=0', 'x'.repeat(3000), '']),
    one('Accept-Encoding', ['gzip;q=0, identity;q=0', 'br', '*;q=0', 'x'.repeat(2000)]),
    one('Range', [
      'bytes=0-0',
      'bytes=100-50',
      'bytes=-1',
      'bytes=0-99999999999999999999',
      'items=0-1',
      `bytes=${'0-1,'.repeat(500)}0-1`,
    ]),
    one('If-None-Match', ['*', '"x"', 'W/"garbage', 'x'.repeat(3000)]),
    one('If-Modified-Since', ['garbage', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT']),
    one('Expect', ['100-continue', 'garbage']),
    one('Origin', ['http://evil.example', 'null', 'x'.repeat(2000)]),
    one('Authorization', ['Bearer x', 'Basic ' + 'A'.repeat(5000), '']),
    one('Cookie', [`a=${'x'.repeat(8000)}`, 'a=b; a=c', ';;;']),
    one('X-Forwarded-For', ['1.1.1.1, ::1, garbage', 'x'.repeat(4000)]),
    one('Connection', ['keep-alive, Upgrade', 'Upgrade']),
    fc.integer({ min: 50, max: 90 }).map((n) => ({
      headers: Array.from({ length: n }, (_, i) => [`X-Junk-${i}`, 'v'] as [string, string]),
      label: `${n} extra headers`,
    })),
  );
}

export interface FramingCase {
  headers: Array<[string, string]>;
  body: Uint8Array;
  framing: FuzzCase['framing'];
  label: string;
  halfClose?: boolean;
  omitHost?: boolean;
}

export function oddFraming(body: Uint8Array): fc.Arbitrary<FramingCase> {
  const n = body.length;
  const withBody = (label: string, headers: Array<[string, string]>, extra: Partial<FramingCase> = {}) => ({
    headers,
    body,
    framing: 'as-headers' as const,
    label,
    ...extra,
  });
  return fc.oneof<fc.Arbitrary<FramingCase>[]>(
    fc.constant({ headers: [], body, framing: 'chunked', label: 'Transfer-Encoding: chunked' }),
    fc
      .integer({ min: 1, max: Math.max(1, Math.min(n, 8)) })
      .map((short) => Math.min(short, n))
      .map((short) => withBody(`Content-Length ${n - short} for ${n} bytes`, [['Content-Length', String(n - short)]])),
    fc.integer({ min: 1, max: 1000 }).map((more) =>
      withBody(`Content-Length ${n + more} for ${n} bytes, client hangs up`, [['Content-Length', String(n + more)]], {
        halfClose: true,
      }),
    ),
    fc
      .constantFrom('-1', 'abc', '1, 2', '99999999999999999999', ' 5', '0x10', '')
      .map((v) => withBody(`Content-Length ${JSON.stringify(v)}`, [['Content-Length', v]])),
    fc.constant(
      withBody('two different Content-Length headers', [
        ['Content-Length', String(n)],
        ['Content-Length', String(n + 1)],
      ]),
    ),
    fc.constant(
      withBody('Content-Length and Transfer-Encoding', [
        ['Content-Length', String(n)],
        ['Transfer-Encoding', 'chunked'],
      ]),
    ),
    fc
      .constantFrom('gzip', 'chunked, identity', 'identity', 'gzip, chunked', 'chunked, chunked', 'x-unknown')
      .map((te) => withBody(`Transfer-Encoding: ${te} (body sent plain)`, [['Transfer-Encoding', te]])),
    fc.constant({
      headers: [['Transfer-Encoding', 'chunked']] as Array<[string, string]>,
      body: new Uint8Array(Buffer.concat([Buffer.from(`zz\r\n`), Buffer.from(body), Buffer.from('\r\n0\r\n\r\n')])),
      framing: 'as-headers' as const,
      label: 'chunked body with a bad chunk size',
    }),
    fc.constant({
      headers: [['Transfer-Encoding', 'chunked']] as Array<[string, string]>,
      body: new Uint8Array(
        Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), Buffer.from(body), Buffer.from('\r\n')]),
      ),
      framing: 'as-headers' as const,
      label: 'chunked body without the last chunk, client hangs up',
      halfClose: true,
    }),
    fc.constant({
      headers: [['Transfer-Encoding', 'chunked']] as Array<[string, string]>,
      body: new Uint8Array(
        Buffer.concat([
          Buffer.from(`${n.toString(16)};${'e'.repeat(3000)}=1\r\n`),
          Buffer.from(body),
          Buffer.from('\r\n0\r\n\r\n'),
        ]),
      ),
      framing: 'as-headers' as const,
      label: 'chunked body with a huge chunk extension',
    }),
    fc.constant({ ...withBody('no Host header', []), framing: 'content-length' as const, omitHost: true }),
    fc.constant(withBody('folded header line', [['X-Folded', 'a\r\n b']])),
    fc.constant(withBody('header name with a space', [['X Bad', '1']])),
    fc.constant(withBody('NUL in a header value', [['X-Nul', 'a\u0000b']])),
  );
}

/** Requests to paths the document does not have: traversal and encoding tricks on the whole URL. */
export function unknownRouteCase(): fc.Arbitrary<FuzzCase> {
  return fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH'),
      fc.constantFrom(
        '/api/v1/../../etc/passwd',
        '/api/v1/%2e%2e/%2e%2e/etc/passwd',
        '/api/v1/models/..%2f..%2f..%2fetc%2fpasswd',
        '//api//v1//models',
        '/api/v1/models/%00',
        '/api/v1/models/iris/versions/1/file/../../../../etc/passwd',
        '/docs/../../package.json',
        '/%ff',
        '/api/v1/nothing',
        '*',
        `/${'a'.repeat(9000)}`,
        'http://evil.example/api/v1/models',
      ),
    )
    .map(([method, target]) => ({
      operationId: 'unknownRoute',
      mutation: `unknown route ${target.slice(0, 60)}`,
      method,
      path: [target],
      query: '',
      headers: [],
      body: method === 'GET' ? undefined : utf8('{}'),
      framing: 'content-length' as const,
    }));
}

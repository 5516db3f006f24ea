import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { anonymous, authed, startTestApp, TestApp } from '../support/test-app';

/**
 * Issue 9, headers and exposure: helmet's security headers on every response (Swagger UI at
 * /docs still works under its CSP) and CORS for an allowlist of origins only, with preflights
 * answered without a credential. Nothing here depends on the database engine.
 */

const ALLOWED = 'https://app.example';
const OTHER_ALLOWED = 'http://localhost:5173';
const FOREIGN = 'https://evil.example';

function directives(csp: string | undefined): Map<string, string[]> {
  assert.ok(csp, 'Content-Security-Policy is set');
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name, values]),
  );
}

function list(header: string | undefined): string[] {
  return (header ?? '').split(',').map((v) => v.trim().toLowerCase());
}

describe('HTTP exposure: security headers and CORS', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp('sqlite', {
      env: { CORS_ORIGINS: `${ALLOWED}, ${OTHER_ALLOWED}`, RATE_LIMIT_VIEWER_PER_MINUTE: '5' },
    });
  });
  after(async () => {
    await t?.close();
  });

  describe('security headers (helmet)', () => {
    const cases: [string, () => Promise<{ status: number; headers: Record<string, string> }>][] = [
      ['a public route', () => anonymous(t).get('/health/live')],
      ['a private route', () => authed(t).get('/api/v1/models')],
      ['a 401', () => anonymous(t).get('/api/v1/models')],
      ['a 404', () => authed(t).get('/api/v1/nothing-here')],
      ['a 415 from a middleware', () => authed(t).post('/api/v1/models').set('Content-Type', 'text/plain').send('x')],
    ];
    for (const [what, send] of cases) {
      it(`are on ${what}`, async () => {
        const res = await send();
        const h = res.headers;
        assert.equal(h['strict-transport-security'], 'max-age=31536000; includeSubDomains');
        assert.equal(h['x-content-type-options'], 'nosniff');
        assert.equal(h['x-frame-options'], 'SAMEORIGIN');
        assert.equal(h['referrer-policy'], 'no-referrer');
        assert.equal(h['cross-origin-opener-policy'], 'same-origin');
        assert.equal(h['cross-origin-resource-policy'], 'same-origin');
        assert.equal(h['x-dns-prefetch-control'], 'off');
        assert.equal(h['x-powered-by'], undefined);
        assert.ok(h['x-request-id'], 'X-Request-Id still set');
        const csp = directives(h['content-security-policy']);
        assert.deepEqual(csp.get('default-src'), ["'self'"]);
        assert.deepEqual(csp.get('object-src'), ["'none'"]);
        assert.ok(!csp.has('upgrade-insecure-requests'), 'plain-HTTP deployments keep working');
      });
    }

    it('leave X-Request-Id echoed as before', async () => {
      const res = await anonymous(t).get('/health/live').set('X-Request-Id', 'trace-123').expect(200);
      assert.equal(res.headers['x-request-id'], 'trace-123');
    });
  });

  describe('Swagger UI at /docs under that CSP', () => {
    it('serves the page, and every script and stylesheet it names, from this origin', async () => {
      const page = await anonymous(t).get('/docs').expect(200);
      assert.match(page.headers['content-type'], /text\/html/);
      const html = page.text;
      const csp = directives(page.headers['content-security-policy']);
      assert.deepEqual(csp.get('script-src'), ["'self'"]);
      // script-src 'self' allows no inline script: every <script> must load a file.
      const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length >= 3, 'bundle, preset and init');
      for (const [tag, attributes, body] of scripts) {
        assert.match(attributes, /src=/, `inline script blocked by the CSP: ${tag.slice(0, 80)}`);
        assert.equal(body.trim(), '');
      }
      // Inline <style> blocks need style-src 'unsafe-inline', which helmet's default has.
      if (html.includes('<style')) assert.ok(csp.get('style-src')?.includes("'unsafe-inline'"));
      assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers (script-src-attr none)');
      const assets = [
        ...[...html.matchAll(/<script[^>]*src=["']([^"']+)["']/g)].map((m) => m[1]),
        ...[...html.matchAll(/<link[^>]*href=["']([^"']+)["']/g)].map((m) => m[1]),
      ];
      assert.ok(assets.some((a) => a.endsWith('swagger-ui-bundle.js')));
      assert.ok(assets.some((a) => a.endsWith('swagger-ui-init.js')));
      assert.ok(assets.some((a) => a.endsWith('swagger-ui.css')));
      for (const asset of assets) {
        assert.ok(!/^(https?:)?\/\//.test(asset), `${asset} is from another origin, which the CSP refuses`);
        // Resolved the way a browser resolves them against the page's URL.
        const url = new URL(asset, 'http://localhost/docs').pathname;
        const res = await anonymous(t).get(url);
        assert.equal(res.status, 200, `${url} answered ${res.status}`);
        const type = res.headers['content-type'];
        if (url.endsWith('.js')) assert.match(type, /javascript/, url);
        if (url.endsWith('.css')) assert.match(type, /text\/css/, url);
        if (url.endsWith('.png')) assert.match(type, /image\/png/, url);
      }
      const init = await anonymous(t).get('/docs/swagger-ui-init.js').expect(200);
      assert.match(init.text, /"openapi":\s*"3/, 'the init script carries the document');
    });
  });

  describe('CORS (allowlist)', () => {
    it('echoes an allowed origin, with credentials and the exposed headers', async () => {
      for (const origin of [ALLOWED, OTHER_ALLOWED]) {
        const res = await anonymous(t).get('/health/live').set('Origin', origin).expect(200);
        assert.equal(res.headers['access-control-allow-origin'], origin);
        assert.equal(res.headers['access-control-allow-credentials'], 'true');
        assert.ok(list(res.headers.vary).includes('origin'), 'caches keep answers per origin');
        const exposed = list(res.headers['access-control-expose-headers']);
        for (const name of [
          'x-request-id',
          'retry-after',
          'ratelimit-limit',
          'ratelimit-remaining',
          'ratelimit-reset',
          'ratelimit-policy',
          'x-model-version',
          'location',
        ]) {
          assert.ok(exposed.includes(name), `${name} exposed: ${exposed.join(', ')}`);
        }
      }
    });

    it('gives a foreign origin no Access-Control-Allow-Origin (the browser withholds the answer)', async () => {
      const res = await anonymous(t).get('/health/live').set('Origin', FOREIGN).expect(200);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const preflight = await anonymous(t)
        .options('/api/v1/predictions')
        .set('Origin', FOREIGN)
        .set('Access-Control-Request-Method', 'POST');
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    });

    for (const [method, path] of [
      ['POST', '/api/v1/predictions'],
      ['POST', '/api/v1/models'],
      ['DELETE', '/api/v1/models/iris'],
      ['GET', '/api/v1/jobs'],
    ] as const) {
      it(`answers the preflight of ${method} ${path} without a credential`, async () => {
        const res = await anonymous(t)
          .options(path)
          .set('Origin', ALLOWED)
          .set('Access-Control-Request-Method', method)
          .set('Access-Control-Request-Headers', 'authorization, x-api-key, content-type, x-request-id');
        assert.ok([200, 204].includes(res.status), `preflight answered ${res.status}: ${res.text}`);
        assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
        assert.equal(res.headers['access-control-allow-credentials'], 'true');
        assert.ok(list(res.headers['access-control-allow-methods']).includes(method.toLowerCase()));
        const allowed = list(res.headers['access-control-allow-headers']);
        for (const name of ['authorization', 'x-api-key', 'content-type', 'x-request-id']) {
          assert.ok(allowed.includes(name), `${name} allowed: ${allowed.join(', ')}`);
        }
        assert.equal(res.headers['access-control-max-age'], '600');
        assert.equal(res.headers['www-authenticate'], undefined, 'no 401 challenge on a preflight');
      });
    }

    it('lets a browser read a 401 from the credential check before any body is read', async () => {
      const res = await anonymous(t)
        .post('/api/v1/predictions')
        .set('Origin', ALLOWED)
        .send({ model: 'iris', inputs: { x: 1 } })
        .expect(401);
      assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
      assert.equal(res.body.statusCode, 401);
    });

    it('lets a browser read a 429 and its RateLimit fields', async () => {
      const created = await authed(t).post('/api/v1/auth/keys').send({ name: 'browser', role: 'viewer' }).expect(201);
      const key = created.body.key as string;
      let last;
      for (let i = 0; i < 6; i++) last = await authed(t, key).get('/api/v1/models').set('Origin', ALLOWED);
      assert.equal(last!.status, 429);
      assert.equal(last!.headers['access-control-allow-origin'], ALLOWED);
      assert.equal(last!.headers['ratelimit-remaining'], '0');
      assert.ok(Number(last!.headers['retry-after']) >= 1);
    });
  });
});

describe('CORS without CORS_ORIGINS', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp('sqlite');
  });
  after(async () => {
    await t?.close();
  });

  it('allows no origin at all', async () => {
    const res = await anonymous(t).get('/health/live').set('Origin', ALLOWED).expect(200);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const preflight = await anonymous(t)
      .options('/api/v1/models')
      .set('Origin', ALLOWED)
      .set('Access-Control-Request-Method', 'GET');
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });
});

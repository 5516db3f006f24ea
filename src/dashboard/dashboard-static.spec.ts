import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { DomainError } from '../common/errors';
import { dashboardCsp, dashboardHandler } from './dashboard-static';

const INLINE_A = '(self.__next_f=self.__next_f||[]).push([0])';
const INLINE_B = 'self.__next_f.push([1,"payload"])';
const PAGE = `<!DOCTYPE html><html><head><script src="/ui/_next/static/chunks/a.js" async=""></script></head>
<body><script>${INLINE_A}</script><script id="_R_">${INLINE_B}</script></body></html>`;

const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** An export like web/out: an index page, a page in a folder, a hashed chunk and the 404 page. */
function fakeExport(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelforge-ui-'));
  fs.mkdirSync(path.join(dir, 'models'));
  fs.mkdirSync(path.join(dir, '_next/static/chunks'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.html'), PAGE);
  fs.writeFileSync(path.join(dir, 'models/index.html'), '<html><body><script>models()</script></body></html>');
  fs.writeFileSync(path.join(dir, '_next/static/chunks/a.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, '404.html'), '<html><body>Not here</body></html>');
  return dir;
}

/** The handler at /ui, and the error body the app's filter would write for its domain errors. */
function appFor(dir: string): express.Express {
  const app = express();
  app.use('/ui', dashboardHandler(dir));
  app.use((_req, res) => void res.status(404).json({ message: 'no route' }));
  app.use((error: DomainError, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.kind === 'not_found' ? 404 : 500).json({ message: error.message });
  });
  return app;
}

describe('dashboardCsp', () => {
  it("allows exactly the page's inline scripts by hash, and no inline script by default", () => {
    const csp = dashboardCsp(PAGE);
    const scriptSrc = csp.split('; ').find((d) => d.startsWith('script-src '));
    assert.equal(scriptSrc, `script-src 'self' ${sha(INLINE_A)} ${sha(INLINE_B)}`);
    assert.ok(!scriptSrc?.includes('unsafe'));
    assert.ok(csp.includes("script-src-attr 'none'"));
    assert.ok(csp.includes("object-src 'none'"));
  });

  it('lists no hash for a page without inline scripts', () => {
    assert.ok(dashboardCsp('<script src="/x.js"></script>').includes("script-src 'self'; "));
  });
});

describe('dashboardHandler', () => {
  let dir: string;
  let app: express.Express;
  before(() => {
    dir = fakeExport();
    app = appFor(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves a page with its own CSP and asks the browser to revalidate it', async () => {
    const res = await request(app).get('/ui/');
    assert.equal(res.status, 200);
    assert.equal(res.text, PAGE);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['content-security-policy'], dashboardCsp(PAGE));
    const models = await request(app).get('/ui/models/');
    assert.equal(models.status, 200);
    assert.ok(models.headers['content-security-policy'].includes(sha('models()')));
    assert.ok(!models.headers['content-security-policy'].includes(sha(INLINE_A)));
  });

  it('redirects a folder without its slash', async () => {
    const res = await request(app).get('/ui/models');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/ui/models/');
  });

  it('caches hashed chunks for a year', async () => {
    const res = await request(app).get('/ui/_next/static/chunks/a.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it("answers an unknown page with the export's 404 page and status 404", async () => {
    const res = await request(app).get('/ui/no/such/page/');
    assert.equal(res.status, 404);
    assert.match(res.text, /Not here/);
    assert.ok(res.headers['content-security-policy'].startsWith("default-src 'self'"));
  });

  it('recomputes the CSP when a page is rebuilt', async () => {
    const rebuilt = PAGE.replace(INLINE_A, 'rebuilt()');
    fs.writeFileSync(path.join(dir, 'index.html'), rebuilt);
    // A different mtime, as a new build gives (some file systems keep whole seconds).
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, 'index.html'), later, later);
    const res = await request(app).get('/ui/');
    assert.ok(res.headers['content-security-policy'].includes(sha('rebuilt()')));
    assert.ok(!res.headers['content-security-policy'].includes(sha(INLINE_A)));
  });

  it('leaves other methods to the routes after it', async () => {
    const res = await request(app).post('/ui/');
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { message: 'no route' });
  });

  it('says how to build the dashboard when web/out is missing', async () => {
    const res = await request(appFor(path.join(dir, 'missing'))).get('/ui/');
    assert.equal(res.status, 404);
    assert.match(res.body.message as string, /npm run build:web/);
  });

  it('answers 404 with the path when an export has no 404 page', async () => {
    fs.rmSync(path.join(dir, '404.html'));
    const res = await request(app).get('/ui/gone/');
    assert.equal(res.status, 404);
    assert.equal(res.body.message, 'No dashboard page at /ui/gone/');
  });
});

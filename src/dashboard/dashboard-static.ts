import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { NotFoundError } from '../common/errors';

/** Where the dashboard is served: same origin as the API, so no CORS and the refresh cookie works. */
export const DASHBOARD_BASE = '/ui';
/** web/out, the static export `npm run build:web` writes (this file runs from dist/src/dashboard/). */
export const DASHBOARD_DIR = path.resolve(__dirname, '../../../web/out');

/** Hashed file names under _next/static never change content: cache them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** HTML and the route payloads name the hashed files of the current build: revalidate each time. */
const REVALIDATE = 'no-cache';
const INLINE_SCRIPT = /<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g;

/**
 * The Content-Security-Policy of one exported HTML page. Next's static export puts its RSC payload
 * and bootstrap in inline <script>s whose text differs per page and per build, so script-src lists
 * the sha256 of each inline script of that file next to 'self': nothing else inline can run, and no
 * 'unsafe-inline' is needed. Styles keep helmet's 'unsafe-inline' (React and uPlot set style
 * attributes); everything else is 'self' as on the API's responses.
 */
export function dashboardCsp(html: string): string {
  const hashes = new Set<string>();
  for (const match of html.matchAll(INLINE_SCRIPT)) {
    if (match[1].length > 0) hashes.add(`'sha256-${createHash('sha256').update(match[1]).digest('base64')}'`);
  }
  return [
    "default-src 'self'",
    "base-uri 'self'",
    "font-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    `script-src 'self' ${[...hashes].join(' ')}`.trim(),
    "script-src-attr 'none'",
    "style-src 'self' 'unsafe-inline'",
  ].join('; ');
}

/** The CSP of each HTML file, computed once per file version (path and mtime). */
class CspCache {
  private readonly byFile = new Map<string, { mtimeMs: number; csp: string }>();

  of(file: string): string {
    const { mtimeMs } = statSync(file);
    const cached = this.byFile.get(file);
    if (cached?.mtimeMs === mtimeMs) return cached.csp;
    const csp = dashboardCsp(readFileSync(file, 'utf8'));
    this.byFile.set(file, { mtimeMs, csp });
    return csp;
  }
}

/**
 * GET/HEAD /ui/**: the exported dashboard, public (the pages hold no data; every API call they
 * make carries the user's credential). Unknown paths get the export's 404 page with status 404:
 * every page is a real file (resources are named in the query string), so there is no client-only
 * route to fall back to index.html for. Without a build, /ui answers 404 saying how to build it.
 */
export function dashboardHandler(dir: string = DASHBOARD_DIR): RequestHandler {
  const csp = new CspCache();
  const setHeaders = (res: Response, file: string): void => {
    const relative = path.relative(dir, file);
    res.setHeader('Cache-Control', relative.startsWith(`_next${path.sep}static${path.sep}`) ? IMMUTABLE : REVALIDATE);
    if (file.endsWith('.html')) res.setHeader('Content-Security-Policy', csp.of(file));
  };
  const files = express.static(dir, { index: 'index.html', redirect: true, fallthrough: true, setHeaders });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    if (!existsSync(dir)) {
      next(new NotFoundError('The dashboard is not built: run `npm run build:web` (npm start builds it when missing)'));
      return;
    }
    files(req, res, () => {
      const notFound = path.join(dir, '404.html');
      if (!existsSync(notFound)) {
        next(new NotFoundError(`No dashboard page at ${DASHBOARD_BASE}${req.path}`));
        return;
      }
      setHeaders(res, notFound);
      res.status(404).sendFile(notFound);
    });
  };
}

/**
 * The JavaScript each dashboard page loads first (the <script src> files of its exported HTML),
 * gzipped, per page: the budget is 250 KB a page. The browser spec asserts the budget;
 * `npm run web:sizes` prints the table README quotes.
 * Usage (after tsc and npm run build:web): node dist/scripts/web-sizes.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

export const WEB_OUT = path.resolve(__dirname, '../../web/out');
/** Per page, in bytes (gzip): 250 KB. */
export const PAGE_JS_BUDGET = 250 * 1024;

export interface PageWeight {
  /** The page's path under /ui. */
  page: string;
  scripts: number;
  gzipBytes: number;
}

/** Script tags by src; `noModule` ones (legacy polyfills) are skipped by every module-capable browser. */
const SCRIPT_TAG = /<script([^>]*)\bsrc="\/ui\/([^"]+)"([^>]*)>/g;

function pageOf(file: string): string {
  const relative = path.relative(WEB_OUT, file).split(path.sep).join('/');
  return `/ui/${relative.replace(/(^|\/)index\.html$/, '$1')}`;
}

export function pageWeights(out: string = WEB_OUT): PageWeight[] {
  const gzipped = new Map<string, number>();
  const sizeOf = (src: string): number => {
    let size = gzipped.get(src);
    if (size === undefined) {
      size = gzipSync(fs.readFileSync(path.join(out, src)), { level: 9 }).length;
      gzipped.set(src, size);
    }
    return size;
  };
  const pages = (fs.readdirSync(out, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.html') && !file.startsWith('_next'))
    .map((file) => path.join(out, file))
    .sort();
  return pages.map((file) => {
    const tags = [...fs.readFileSync(file, 'utf8').matchAll(SCRIPT_TAG)];
    const sources = new Set(tags.filter((m) => !/\bnoModule\b/i.test(m[1] + m[3])).map((m) => m[2]));
    return {
      page: pageOf(file),
      scripts: sources.size,
      gzipBytes: [...sources].reduce((sum, src) => sum + sizeOf(src), 0),
    };
  });
}

if (require.main === module) {
  for (const { page, scripts, gzipBytes } of pageWeights()) {
    console.log(
      `${page.padEnd(20)} ${String(scripts).padStart(2)} scripts ${(gzipBytes / 1024).toFixed(1).padStart(7)} KB gzip`,
    );
  }
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * The browser tests' Chromium: Debian's `chromium` package (installed by .ci/run when missing),
 * driven by playwright-core. Nothing downloads a browser. CHROMIUM_PATH overrides the executable.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where every browser test saves its screenshots (README, "The dashboard"); gitignored. */
export const SCREENSHOT_DIR = path.resolve(__dirname, '../../../.tmp/screenshots');
/** The README's images; refreshed from the suite by `npm run screenshots` (UPDATE_SCREENSHOTS=1). */
export const DOCS_SCREENSHOT_DIR = path.resolve(__dirname, '../../../docs/screenshots');
/** The exported dashboard the server serves; scripts/run-tests.mjs builds it before browser specs. */
export const DASHBOARD_OUT = path.resolve(__dirname, '../../../web/out/index.html');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  if (!fs.existsSync(DASHBOARD_OUT)) throw new Error('The dashboard is not built: npm run build:web');
  // playwright gives each launch a new, empty user data directory.
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What went wrong in a page besides the answers a test expects: it must stay empty. */
export interface PageProblems {
  /** Console errors and uncaught exceptions, except the browser's own line for each HTTP error answer. */
  errors: string[];
  /** `METHOD path -> status` of every answer >= 400. */
  failedResponses: string[];
}

export interface BrowserTab {
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
  close(): Promise<void>;
}

/** A fresh context (cookies, storage) and page at a viewport, recording its problems. */
export async function openTab(browser: Browser, baseUrl: string, viewport = DESKTOP): Promise<BrowserTab> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport,
    timezoneId: 'Europe/Berlin',
    locale: 'en-GB',
  });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const problems: PageProblems = { errors: [], failedResponses: [] };
  page.on('console', (message) => {
    // Chromium logs every 4xx/5xx answer as "Failed to load resource"; failedResponses lists them.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.errors.push(message.text());
    }
  });
  page.on('pageerror', (error) => problems.errors.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) {
      problems.failedResponses.push(
        `${response.request().method()} ${new URL(response.url()).pathname} -> ${response.status()}`,
      );
    }
  });
  return { context, page, problems, close: () => context.close() };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A/AA rules). The
 * script is evaluated through the DevTools protocol, which the page's CSP does not govern.
 */
export async function seriousA11yViolations(
  page: Page,
): Promise<{ id: string; impact: string | null; help: string; targets: string[] }[]> {
  await page.evaluate(AXE_SOURCE);
  // Expressions as text: this file is compiled without the DOM's types.
  const violations = (await page.evaluate(
    "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => r.violations)",
  )) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => JSON.stringify(n.target)) }));
}

/**
 * Saves a full-page screenshot to .tmp/screenshots/<name>.png, and with UPDATE_SCREENSHOTS=1 a
 * copy under docs/screenshots/ when `docs` is set (the README's images).
 */
export async function screenshot(page: Page, name: string, options: { docs?: boolean } = {}): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  if (options.docs && process.env.UPDATE_SCREENSHOTS === '1') {
    fs.mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS_SCREENSHOT_DIR, `${name}.png`));
  }
}

/** Wider than the viewport means a phone user scrolls the whole page sideways. */
export async function horizontalOverflow(page: Page): Promise<number> {
  return (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createKey, createUser, TEST_PASSWORD, whoAmI } from '../support/auth-helpers';
import {
  type BrowserTab,
  DESKTOP,
  horizontalOverflow,
  launchChromium,
  openTab,
  PHONE,
  screenshot,
  seriousA11yViolations,
} from '../support/browser';
import { TEST_JWT_SECRET } from '../support/credentials';
import { PAGE_JS_BUDGET, pageWeights } from '../../scripts/web-sizes';
import { JobGate } from '../support/job-gate';
import { client, getJob, json, mlpInstances, submitJob, uploadModel } from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * The dashboard (web/, served at /ui) in headless Chromium against the real application: every
 * check reads the API's own answer to compare with what the page shows. The UI is one more
 * client of routes the e2e specs cover on both databases, so this suite runs on SQLite only.
 */

const MODEL = 'iris-ui';

// One app and one browser for the suite; its tests together take longer than the per-test default.
describe('dashboard in a browser', { timeout: 600_000 }, () => {
  let t: TestApp;
  let browser: Browser;
  let gate: JobGate;
  let http: ReturnType<typeof client>;
  const tabs: BrowserTab[] = [];

  before(async () => {
    gate = JobGate.create();
    t = await startTestApp('sqlite', {
      listen: true,
      jobGate: gate,
      env: { JWT_SECRET: TEST_JWT_SECRET, JOBS_CONCURRENCY: '1', LOGIN_MAX_FAILURES: '1000' },
    });
    http = client(t.baseUrl!, t.adminKey);
    browser = await launchChromium();
    // A model with three ready versions, for the pages that show one (a split of two and a shadow).
    await json(
      await http('/api/v1/models', {
        method: 'POST',
        body: JSON.stringify({ name: MODEL, description: 'MLP 4 -> 3', tags: ['demo'] }),
        headers: { 'Content-Type': 'application/json' },
      }),
      201,
    );
    await uploadModel(http, MODEL, mlpModel({ seed: 1 }));
    await uploadModel(http, MODEL, mlpModel({ seed: 2 }));
    await uploadModel(http, MODEL, mlpModel({ seed: 4 }));
  });

  after(async () => {
    gate?.releaseAll();
    gate?.clearRules();
    for (const tab of tabs) await tab.close().catch(() => undefined);
    await browser?.close();
    await t?.close();
  });

  /** A new tab; the test's problems are checked at its end by `finish`. */
  async function tab(viewport = DESKTOP): Promise<BrowserTab> {
    const opened = await openTab(browser, t.baseUrl!, viewport);
    tabs.push(opened);
    return opened;
  }

  /**
   * Opens `path` and logs in there with an API key (a key lives only in the page's memory, so each
   * full page load asks for it again; the page then shows what `path` names).
   */
  async function logInWithKey(page: Page, path = '/ui/', key: string = t.adminKey): Promise<void> {
    await page.goto(path);
    await page.getByRole('radio', { name: 'API key' }).check();
    await page.getByRole('textbox', { name: 'API key' }).fill(key);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('whoami').waitFor();
  }

  /** Screenshot, then no console error, no uncaught exception and exactly the expected kinds of error answer. */
  async function finish(opened: BrowserTab, name: string, expectedFailures: string[] = []): Promise<void> {
    await screenshot(opened.page, name);
    assert.deepEqual(opened.problems.errors, [], 'console errors');
    // Which error answers came, not how often: a page may ask again (a reload after a change).
    const distinct = [...new Set(opened.problems.failedResponses)].sort();
    assert.deepEqual(distinct, [...expectedFailures].sort(), 'HTTP error answers');
    await opened.close();
  }

  function api(path: string, init: RequestInit = {}): Promise<Response> {
    return http(path, { ...init, headers: { 'Content-Type': 'application/json', ...init.headers } });
  }

  it('logs in with username and password, keeps the session over a reload, and logs out', async () => {
    await createUser(t, 'maria', 'maintainer');
    const opened = await tab();
    const { page } = opened;
    await page.goto('/ui/');
    await page.getByRole('textbox', { name: 'Username' }).fill('maria');
    await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    assert.equal(await page.getByTestId('whoami').textContent(), 'maria (maintainer)');
    // The access token is only in memory: the reload gets a new one through the httpOnly refresh cookie.
    await page.reload();
    assert.equal(await page.getByTestId('whoami').textContent(), 'maria (maintainer)');
    const cookies = await opened.context.cookies();
    const refresh = cookies.find((c) => c.name === 'mf_refresh');
    assert.ok(refresh?.httpOnly, 'the refresh cookie is httpOnly');
    assert.equal(refresh.path, '/api/v1/auth');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    // A wrong password gets the API's message in place.
    await page.getByRole('textbox', { name: 'Username' }).fill('maria');
    await page.getByLabel('Password', { exact: true }).fill('not the password at all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('main').getByRole('alert').waitFor();
    await finish(opened, 'login-logout', ['POST /api/v1/auth/login -> 401']);
  });

  it('charts the last hour of predictions per second and latency from the traffic history on open', async () => {
    // Predictions made before the page opens: the charts show them at once, from the server's history.
    for (let i = 0; i < 20; i++) {
      const body = JSON.stringify({ model: MODEL, inputs: { x: [[i, 1, 2, 3]] } });
      await json(await api('/api/v1/predictions', { method: 'POST', body }), 200);
    }
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page);
    await page
      .getByTestId('traffic-totals')
      .filter({ hasText: /^Last hour: ([2-9]\d|\d{3,}) requests, / })
      .waitFor();
    const rate = page.getByTestId('latest-Predictions per second');
    const latency = page.getByTestId('latest-Latency (total, all models)');
    assert.match((await rate.textContent()) ?? '', /^predictions\/s [\d.]+ req\/s$/);
    assert.match((await latency.textContent()) ?? '', /^p50 [\d.]+ ms, p99 [\d.]+ ms$/);
    await screenshot(page, 'overview', { docs: true });
    await finish(opened, 'overview-charts');
  });

  it('creates a model', async () => {
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page);
    await page.getByRole('link', { name: 'Models' }).click();
    const form = page.getByRole('form', { name: 'Create a model' });
    await form.getByLabel('Name').fill('created-in-ui');
    await form.getByLabel('Tags (comma separated)').fill('ui, test');
    await form.getByLabel('Description').fill('made by the browser test');
    await form.getByRole('button', { name: 'Create model' }).click();
    await page.getByRole('status').getByRole('link', { name: 'created-in-ui' }).waitFor();
    await page.getByRole('cell', { name: 'created-in-ui' }).waitFor();
    const model = await json<{ tags: string[]; description: string; updatedAt: string }>(
      await api('/api/v1/models/created-in-ui'),
      200,
    );
    assert.deepEqual(model.tags, ['ui', 'test']);
    assert.equal(model.description, 'made by the browser test');
    // Dates in the browser's time zone (the context runs in Europe/Berlin; the API answers UTC).
    const local = new Intl.DateTimeFormat('en-GB', {
      dateStyle: 'medium',
      timeStyle: 'medium',
      timeZone: 'Europe/Berlin',
    });
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'created-in-ui' }) });
    await row.getByRole('cell', { name: local.format(new Date(model.updatedAt)) }).waitFor();
    await finish(opened, 'create-model');
  });

  it('uploads a version dropped on the page, and the progress bar finishes', async () => {
    await api('/api/v1/models', { method: 'POST', body: JSON.stringify({ name: 'upload-ui' }) });
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page, '/ui/upload/?name=upload-ui');
    await page.getByTestId('dropzone').waitFor();
    const bytes = mlpModel({ seed: 3 }).toString('base64');
    // A DataTransfer holding the file, as a drag from the desktop delivers it (built in the page).
    const dataTransfer = await page.evaluateHandle(`(() => {
      const transfer = new DataTransfer();
      const data = Uint8Array.from(atob('${bytes}'), (c) => c.charCodeAt(0));
      transfer.items.add(new File([data], 'mlp.onnx', { type: 'application/octet-stream' }));
      return transfer;
    })()`);
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
    await page.getByTestId('chosen-file').waitFor();
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByTestId('upload-done').waitFor();
    assert.equal(
      await page.getByTestId('upload-progress').evaluate((bar) => (bar as unknown as { value: number }).value),
      1,
    );
    assert.match((await page.getByTestId('upload-done').textContent()) ?? '', /Version 1 of upload-ui is ready/);
    const version = await json<{ status: string; sizeBytes: number }>(
      await api('/api/v1/models/upload-ui/versions/1'),
      200,
    );
    assert.equal(version.status, 'ready');
    assert.equal(version.sizeBytes, Buffer.from(bytes, 'base64').length);
    await finish(opened, 'upload-progress');
  });

  it("shows the server's message in place when it refuses an upload", async () => {
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page, '/ui/upload/?name=upload-ui');
    const garbage = Buffer.from('this is not an ONNX model');
    await page
      .getByLabel('Choose a file')
      .setInputFiles({ name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: garbage });
    await page.getByRole('button', { name: 'Upload' }).click();
    const shown = (await page.getByRole('main').getByRole('alert').textContent()) ?? '';
    // The same bytes sent straight to the API: the page shows its message.
    const form = new FormData();
    form.append('file', new Blob([garbage]), 'broken.onnx');
    const res = await http('/api/v1/models/upload-ui/versions', { method: 'POST', body: form });
    assert.equal(res.status, 422);
    const { message } = (await res.json()) as { message: string };
    assert.ok(shown.includes(message), `the page shows "${shown}", the API says "${message}"`);
    await finish(opened, 'upload-refused', ['POST /api/v1/models/upload-ui/versions -> 422']);
  });

  it("predicts from the form generated from the version's schema, as the API answers", async () => {
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page, `/ui/try/?name=${MODEL}&version=2`);
    const values = [5.1, 3.5, 1.4, 0.2];
    for (const [index, value] of values.entries()) {
      await page.getByLabel(`x element ${index}`).fill(String(value));
    }
    await page.getByRole('button', { name: 'Predict' }).click();
    const shown = JSON.parse((await page.getByTestId('answer-body').textContent()) ?? '') as {
      outputs: unknown;
      version: number;
    };
    const answer = await json<{ outputs: unknown; version: number }>(
      await api('/api/v1/predictions', {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, version: 2, inputs: { x: [values] } }),
      }),
      200,
    );
    assert.deepEqual(shown.outputs, answer.outputs);
    assert.equal(shown.version, 2);
    assert.match((await page.getByTestId('answer-cache').textContent()) ?? '', /^(HIT|MISS|BYPASS)$/);
    await finish(opened, 'try-it');
  });

  /** What the model page asks before a policy exists: GET traffic answers 404 (none), which the page shows as "No policy". */
  const NO_POLICY = `GET /api/v1/models/${MODEL}/traffic -> 404`;

  it('moves an alias after a confirmation', async () => {
    await json(
      await api(`/api/v1/models/${MODEL}/aliases/champion`, { method: 'PUT', body: JSON.stringify({ version: 1 }) }),
      200,
    );
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page, `/ui/model/?name=${MODEL}`);
    const form = page.getByRole('form', { name: 'Move an alias' });
    await form.getByLabel('Alias').fill('champion');
    await form.getByLabel('Version').selectOption('2');
    await form.getByRole('button', { name: 'Move alias' }).click();
    const dialog = page.getByRole('dialog', { name: 'Move alias' });
    assert.match((await dialog.textContent()) ?? '', /now version 1/);
    await dialog.getByRole('button', { name: 'Move' }).click();
    await page.getByTestId('aliases').getByText('version 2').waitFor();
    const model = await json<{ aliases: Record<string, number> }>(await api(`/api/v1/models/${MODEL}`), 200);
    assert.deepEqual(model.aliases, { champion: 2 });
    await finish(opened, 'move-alias', [NO_POLICY]);
  });

  it('edits the traffic split and its shadow, then shows traffic by version', async () => {
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page, `/ui/model/?name=${MODEL}`);
    const form = page.getByRole('form', { name: 'Edit the traffic split' });
    await form.getByRole('button', { name: 'Add member' }).click();
    await form.getByRole('button', { name: 'Add member' }).click();
    await form.getByLabel('Member 1 version').selectOption('1');
    await form.getByLabel('Member 1 weight').fill('90');
    await form.getByLabel('Member 2 version').selectOption('2');
    await form.getByLabel('Member 2 weight').fill('10');
    await form.getByLabel('Shadow version').selectOption('3');
    await form.getByLabel('Percent mirrored').fill('50');
    await form.getByRole('button', { name: 'Save split' }).click();
    await page.getByText('Traffic split saved.').waitFor();
    const summary = 'version 1 weight 90, version 2 weight 10; 50% mirrored to version 3';
    await page.getByTestId('traffic-summary').getByText(summary).waitFor();
    const policy = await json<{ split: unknown; shadow: unknown }>(await api(`/api/v1/models/${MODEL}/traffic`), 200);
    assert.deepEqual(policy.split, [
      { version: 1, weight: 90 },
      { version: 2, weight: 10 },
    ]);
    assert.deepEqual(policy.shadow, { version: 3, percent: 50 });
    // Requests naming no version follow the split; half are mirrored to version 3 after the answer.
    for (let i = 0; i < 12; i++) {
      const body = JSON.stringify({ model: MODEL, inputs: { x: [[i, 2, 3, 4]] } });
      await json(await api('/api/v1/predictions', { method: 'POST', body }), 200);
    }
    const stats = await waitFor(
      async () => {
        const answer = await json<{ shadows: { version: number; mirrored: number }[] }>(
          await api(`/api/v1/models/${MODEL}/traffic/stats`),
          200,
        );
        return answer.shadows.some((s) => s.version === 3 && s.mirrored > 0) ? answer : undefined;
      },
      { what: 'a shadow run of version 3 in the stats' },
    );
    await logInWithKey(page, `/ui/model/?name=${MODEL}`);
    const shown = page.getByTestId('traffic-stats');
    // The row whose first cell (the shadow version) is 3; other cells may read 3 too.
    const shadowRows = shown.getByRole('region', { name: 'Shadow versions' }).locator('tbody tr');
    await shadowRows.filter({ has: page.locator('td:first-child', { hasText: /^3$/ }) }).waitFor();
    const served = shown.getByRole('region', { name: 'Requests and latency by version' }).getByRole('row');
    assert.ok((await served.count()) >= 2, 'a row per served version under the header');
    assert.ok(stats.shadows.length >= 1);
    await screenshot(page, 'model', { docs: true });
    await finish(opened, 'traffic-split', [NO_POLICY]);
  });

  it('edits cache, batching and payload logging settings', async () => {
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page, '/ui/model/?name=created-in-ui');
    const form = page.getByRole('form', { name: 'Model settings' });
    await form.getByLabel('Prediction cache').setChecked(false);
    await form.getByLabel('Cache TTL (seconds)').fill('60');
    await form.getByLabel('Log payloads').setChecked(true);
    await form.getByLabel('Dynamic batching').setChecked(true);
    await form.getByLabel('Max batch size').fill('4');
    await form.getByLabel('Max queue delay (ms)').fill('2');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    const model = await json<{
      cache: unknown;
      logPayloads: boolean;
      batching: { enabled: boolean; maxBatchSize: number; maxQueueDelayMs: number };
    }>(await api('/api/v1/models/created-in-ui'), 200);
    assert.deepEqual(model.cache, { enabled: false, ttlSeconds: 60 });
    assert.equal(model.logPayloads, true);
    assert.deepEqual(
      {
        enabled: model.batching.enabled,
        maxBatchSize: model.batching.maxBatchSize,
        maxQueueDelayMs: model.batching.maxQueueDelayMs,
      },
      { enabled: true, maxBatchSize: 4, maxQueueDelayMs: 2 },
    );
    await finish(opened, 'settings', ['GET /api/v1/models/created-in-ui/traffic -> 404']);
  });

  it('shows a job reaching 100% and cancels another', async () => {
    // One job at a time (JOBS_CONCURRENCY=1): while the first is held, the second stays queued.
    gate.hold({ chunk: 0 });
    const { job: first } = await submitJob(http, { model: MODEL, version: 1, instances: mlpInstances(6) });
    const held = await gate.held({ jobId: first.id });
    const { job: second } = await submitJob(http, { model: MODEL, version: 1, instances: mlpInstances(3) });
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page);
    await page.getByRole('link', { name: 'Jobs' }).click();
    const firstRow = page.locator(`tr[data-job="${first.id}"]`);
    const secondRow = page.locator(`tr[data-job="${second.id}"]`);
    await firstRow.getByText('running').waitFor();
    await secondRow.getByText('queued').waitFor();
    await secondRow.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog', { name: 'Cancel job' }).getByRole('button', { name: 'Cancel job' }).click();
    await secondRow.getByText('cancelled').waitFor();
    gate.clearRules();
    gate.release(held);
    await firstRow.getByText('completed').waitFor();
    assert.equal(await firstRow.getByTestId('job-percent').textContent(), '100%');
    assert.equal((await getJob(http, second.id)).status, 'cancelled');
    assert.equal((await getJob(http, first.id)).progress.percent, 100);
    await screenshot(page, 'jobs', { docs: true });
    await finish(opened, 'jobs');
  });

  it('creates a key with its secret shown once, and revokes it: the key then gets 401', async () => {
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page);
    await page.getByRole('link', { name: 'Keys' }).click();
    const form = page.getByRole('form', { name: 'Create a key' });
    await form.getByLabel('Name').fill('ui-made');
    await form.getByLabel('Role').selectOption('predictor');
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-key-secret').textContent()) ?? '';
    assert.equal((await whoAmI(t.baseUrl!, secret)).status, 200);
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByTestId('new-key-secret').count(), 0, 'the secret is gone once dismissed');
    await page.getByRole('button', { name: 'Revoke key ui-made' }).click();
    await page.getByRole('dialog', { name: 'Revoke key' }).getByRole('button', { name: 'Revoke' }).click();
    await page.locator('tr[data-key="ui-made"]').getByText('revoked').waitFor();
    assert.equal((await whoAmI(t.baseUrl!, secret)).status, 401);
    await finish(opened, 'keys');
  });

  it('shows a viewer no write controls', async () => {
    const viewer = await createKey(t.baseUrl!, t.adminKey, { name: 'ui-viewer', role: 'viewer' });
    const opened = await tab();
    const { page } = opened;
    await logInWithKey(page, '/ui/', viewer.key);
    assert.equal(await page.getByTestId('whoami').textContent(), 'ui-viewer (viewer)');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const hidden of ['Keys', 'Users', 'Audit', 'Predictions'])
      assert.equal(await nav.getByRole('link', { name: hidden }).count(), 0, hidden);
    await nav.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('cell', { name: MODEL }).waitFor();
    assert.equal(await page.getByRole('form', { name: 'Create a model' }).count(), 0);
    await page.getByRole('link', { name: MODEL }).click();
    await page.getByTestId('versions').waitFor();
    await page.getByTestId('traffic-summary').waitFor();
    for (const name of ['Move alias', 'Save split', 'Save settings', 'Delete', `Delete model ${MODEL}`]) {
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
    }
    assert.equal(await page.getByRole('link', { name: 'Upload a version' }).count(), 0);
    assert.equal(await page.getByRole('form', { name: 'Edit the traffic split' }).count(), 0);
    await nav.getByRole('link', { name: 'Jobs' }).click();
    await page.getByTestId('jobs').waitFor();
    assert.equal(await page.getByText('Submit a job').count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0);
    await finish(opened, 'viewer');
  });

  it('lays out every page at 1280x800 and 390 px wide with no serious or critical axe violation', async () => {
    const pages = [
      ['overview', '/ui/'],
      ['models', '/ui/models/'],
      ['model', `/ui/model/?name=${MODEL}`],
      ['upload', `/ui/upload/?name=${MODEL}`],
      ['try', `/ui/try/?name=${MODEL}&version=1`],
      ['jobs', '/ui/jobs/'],
      ['predictions', '/ui/predictions/'],
      ['keys', '/ui/keys/'],
      ['users', '/ui/users/'],
      ['audit', '/ui/audit/'],
    ] as const;
    for (const viewport of [DESKTOP, PHONE]) {
      const opened = await tab(viewport);
      const { page } = opened;
      for (const [name, url] of pages) {
        await logInWithKey(page, url);
        await page.locator('main h1').first().waitFor();
        // Every part of the page has loaded (a page may show several loading lines at once).
        const loading = page.getByText(/^Loading /);
        await waitFor(async () => (await loading.count()) === 0, { what: `${name} to finish loading` });
        const violations = await seriousA11yViolations(page);
        assert.deepEqual(violations, [], `${name} at ${viewport.width}px`);
        assert.ok((await horizontalOverflow(page)) <= 0, `${name} scrolls sideways at ${viewport.width}px`);
        const docs = viewport === DESKTOP && !['overview', 'model', 'jobs'].includes(name);
        await screenshot(page, `${name}-${viewport.width}`, { docs });
      }
      await finish(opened, `pages-${viewport.width}`);
    }
  });

  it('keeps the JavaScript each page loads first under 250 KB gzipped', () => {
    const weights = pageWeights();
    assert.ok(weights.length >= 10, `only ${weights.length} pages exported`);
    const over = weights.filter((w) => w.gzipBytes > PAGE_JS_BUDGET || w.scripts === 0);
    assert.deepEqual(over, []);
  });
});

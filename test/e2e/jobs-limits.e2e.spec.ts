/**
 * Hostile job submissions: byte budgets as sent and as stored, the per-instance element cap, the
 * free-disk check, strict versions, and bodies that never block the HTTP thread (issue 8).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  client,
  holdWorker,
  jobRows,
  json,
  mlpInstances,
  postNdjson,
  streamedBody,
  uploadModel,
  waitForJob,
} from '../support/job-helpers';
import { mlpModel } from '../support/onnx-models';
import { waitFor } from '../support/wait-for';
import { testEngines } from '../support/postgres';
import { listFiles, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/test-app';

const MiB = 1024 * 1024;
const LIMITS_ENV = {
  INFERENCE_WORKERS: '1',
  JOBS_MAX_SUBMISSION_BYTES: String(24 * MiB),
  JOBS_MAX_DECODED_BYTES: String(20 * MiB),
  JOBS_MAX_INSTANCE_ELEMENTS: '16384',
};

interface ErrorBody {
  statusCode: number;
  message: string;
  details?: { field: string; problem: string }[];
}

/** An MLP instance of `rows` rows of 4 values: 10 bytes a row as JSON, 16 once encoded. */
const rowsInstance = (rows: number) => ({ inputs: { x: Array.from({ length: rows }, () => [1, 2, 3, 4]) } });

function* lines(count: number, line: string): Iterable<string> {
  for (let i = 0; i < count; i++) yield line;
}

const postJson = (h: ReturnType<typeof client>, body: string) =>
  h('/api/v1/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

describe('job submission budgets (sqlite)', () => {
  let t: TestApp;
  let h: ReturnType<typeof client>;
  let staging: string;
  /** Raw requests, ended here even when a test fails while one waits. */
  const rawRequests: http.ClientRequest[] = [];

  before(async () => {
    t = await startTestApp('sqlite', { listen: true, env: LIMITS_ENV });
    h = client(t.baseUrl as string);
    await uploadModel(h, 'mlp', mlpModel());
    staging = path.join(t.dataDir, 'jobs-staging');
  });
  after(async () => {
    for (const req of rawRequests) req.destroy();
    await t?.close();
  });

  /** Runs `submit`, which must be refused with 413 naming `variable`, leaving nothing behind. */
  async function refusedWith413(variable: string, submit: () => Promise<Response>): Promise<ErrorBody> {
    const rows = await jobRows(t.dataSource);
    const body = await json<ErrorBody>(await submit(), 413);
    assert.match(body.message, new RegExp(variable));
    assert.deepEqual(await jobRows(t.dataSource), rows, 'no job row and no instance stored');
    assert.deepEqual(listFiles(staging), [], 'the spool is removed');
    return body;
  }

  it('refuses an NDJSON upload past JOBS_MAX_SUBMISSION_BYTES as it arrives, storing nothing', async () => {
    // Whitespace-padded lines: 8 KiB sent per instance, a few dozen bytes stored.
    const padded = `${JSON.stringify(mlpInstances(1)[0])}${' '.repeat(8192)}\n`;
    const upload = streamedBody(lines(4000, padded));
    await refusedWith413('JOBS_MAX_SUBMISSION_BYTES', () => postNdjson(h, 'model=mlp', upload.body));
    // The same lines within the budget are a job.
    await json(await postNdjson(h, 'model=mlp', [...lines(100, padded)].join('')), 202);
  });

  it('refuses a JSON body past JOBS_MAX_SUBMISSION_BYTES', async () => {
    const body = `{"model": "mlp", "instances": [{"inputs": {"x": [[1, 2, 3, 4]]}}]${' '.repeat(25 * MiB)}}`;
    await refusedWith413('JOBS_MAX_SUBMISSION_BYTES', () => postJson(h, body));
  });

  // The timeout only turns a server that waits for the announced body into a failure.
  it(
    'refuses at once, before reading the body, an upload whose Content-Length exceeds the budget',
    { timeout: 30_000 },
    async () => {
      const rows = await jobRows(t.dataSource);
      const { port } = new URL(t.baseUrl as string);
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/v1/jobs?model=mlp',
          headers: {
            'Content-Type': 'application/x-ndjson',
            'Content-Length': String(24 * MiB + 1),
            Authorization: `Bearer ${TEST_ADMIN_KEY}`,
          },
        });
        rawRequests.push(req);
        req.on('response', resolve);
        req.on('error', reject);
        // Headers only: not one byte of the announced body is ever sent.
        req.flushHeaders();
      });
      let text = '';
      for await (const chunk of res) text += String(chunk);
      res.socket.destroy();
      assert.equal(res.statusCode, 413, text);
      assert.match((JSON.parse(text) as ErrorBody).message, /JOBS_MAX_SUBMISSION_BYTES/);
      assert.deepEqual(await jobRows(t.dataSource), rows);
    },
  );

  it('refuses a submission past JOBS_MAX_DECODED_BYTES once spooled to disk, removing the spool', async () => {
    // 1,600 instances of 16 KiB once encoded: past 16 MiB the spool goes to a file, past 20 MiB 413.
    fs.mkdirSync(staging, { recursive: true });
    const spooled = new Set<string>();
    const watcher = fs.watch(staging, (_event, name) => {
      if (name?.endsWith('.spool')) spooled.add(name);
    });
    try {
      const upload = streamedBody(lines(1600, `${JSON.stringify(rowsInstance(1024))}\n`));
      await refusedWith413('JOBS_MAX_DECODED_BYTES', () => postNdjson(h, 'model=mlp', upload.body));
      assert.equal(spooled.size, 1, 'the instances had reached a spool file');
    } finally {
      watcher.close();
    }
    const body = JSON.stringify({ model: 'mlp', instances: Array.from({ length: 1300 }, () => rowsInstance(1024)) });
    await refusedWith413('JOBS_MAX_DECODED_BYTES', () => postJson(h, body));
  });

  it('refuses an instance past JOBS_MAX_INSTANCE_ELEMENTS across its inputs with 413 naming it', async () => {
    const instances = [rowsInstance(1), rowsInstance(4096), rowsInstance(4097)];
    const jsonRefusal = await refusedWith413('JOBS_MAX_INSTANCE_ELEMENTS', () =>
      postJson(h, JSON.stringify({ model: 'mlp', instances })),
    );
    assert.match(jsonRefusal.message, /^instances\[2\]\.inputs\.x makes the instance exceed/);
    const ndjson = instances.map((i) => JSON.stringify(i)).join('\n\n');
    const ndjsonRefusal = await refusedWith413('JOBS_MAX_INSTANCE_ELEMENTS', () => postNdjson(h, 'model=mlp', ndjson));
    assert.match(ndjsonRefusal.message, /^instances\[2\]\.inputs\.x .*\(line 5\)$/);
    // 4,096 rows of 4 is exactly the cap.
    await json(await postJson(h, JSON.stringify({ model: 'mlp', instances: instances.slice(0, 2) })), 202);
  });

  it('keeps the HTTP thread free while a large body waits for and is decoded by an inference process', async () => {
    const instances = Array.from({ length: 400 }, () => rowsInstance(1024));
    const bodies = [
      () => postJson(h, JSON.stringify({ model: 'mlp', instances })),
      () => postNdjson(h, 'model=mlp', instances.map((i) => JSON.stringify(i)).join('\n')),
    ];
    // Jobs earlier tests queued must not run meanwhile: their chunks would wait for the held process too.
    const active = async () => {
      for (const status of ['queued', 'running']) {
        const page = await json<{ total: number }>(await h(`/api/v1/jobs?status=${status}`), 200);
        if (page.total > 0) return true;
      }
      return false;
    };
    for (const submit of bodies) {
      await waitFor(async () => ((await active()) ? undefined : true), { what: 'earlier jobs to finish' });
      const worker = holdWorker(t);
      try {
        await waitFor(() => worker.inference.status().inFlight === 1, { what: 'the worker is held' });
        let answered = false;
        const submitted = submit().then((res) => {
          answered = true;
          return res;
        });
        // It waits for the held process, on this side: nothing parses it meanwhile.
        await waitFor(() => answered || worker.inference.status().queued === 1, {
          what: 'the body waits for the process',
        });
        assert.equal(
          answered,
          false,
          'the job was answered without a process: its body was decoded on the HTTP thread',
        );
        await json(await h('/health/live'), 200);
        assert.equal(answered, false);
        await worker.release();
        const job = await json<{ id: string; progress: { total: number } }>(await submitted, 202);
        assert.equal(job.progress.total, 400);
        await waitForJob(h, job.id);
      } finally {
        await worker.release();
      }
    }
  });
});

describe('job submissions on a full data folder (sqlite)', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp('sqlite', { listen: true, env: { MIN_FREE_DISK_BYTES: String(2 ** 52) } });
  });
  after(async () => {
    await t?.close();
  });

  it('answers 507 before spooling anything', async () => {
    const h = client(t.baseUrl as string);
    const line = JSON.stringify(mlpInstances(1)[0]);
    for (const res of [
      await postNdjson(h, 'model=mlp', line),
      await postJson(h, JSON.stringify({ model: 'mlp', instances: [JSON.parse(line)] })),
    ]) {
      assert.match((await json<ErrorBody>(res, 507)).message, /MIN_FREE_DISK_BYTES/);
    }
    assert.deepEqual(await jobRows(t.dataSource), { jobs: 0, instances: 0 });
  });
});

for (const engine of testEngines()) {
  describe(`strict job versions (${engine})`, () => {
    let t: TestApp;
    let h: ReturnType<typeof client>;

    before(async () => {
      t = await startTestApp(engine, { listen: true });
      h = client(t.baseUrl as string);
      await uploadModel(h, 'mlp', mlpModel());
    });
    after(async () => {
      await t?.close();
    });

    it('refuses a query version that is not decimal digits from 1 to 2147483647 with 400', async () => {
      const line = JSON.stringify(mlpInstances(1)[0]);
      for (const version of ['1e20', '99999999999999999999', '0x10', '%201', '-1', '0', '2147483648', '1.5', '']) {
        const body = await json<ErrorBody>(await postNdjson(h, `model=mlp&version=${version}`, line), 400);
        assert.deepEqual(
          body.details?.map((d) => d.field),
          ['version'],
          version,
        );
      }
      assert.match(
        (await json<ErrorBody>(await postNdjson(h, 'model=mlp&version=2147483647', line), 404)).message,
        /no version 2147483647/,
      );
      await json(await postNdjson(h, 'model=mlp&version=1', line), 202);
    });

    it('refuses a body version that is not an integer from 1 to 2147483647 with 400', async () => {
      const instances = JSON.stringify(mlpInstances(1));
      for (const version of ['1e20', '99999999999999999999', '2147483648', '-1', '0', '1.5', '"0x10"', '" 1"']) {
        const res = await postJson(h, `{"model": "mlp", "version": ${version}, "instances": ${instances}}`);
        const body = await json<ErrorBody>(res, 400);
        assert.deepEqual(
          body.details?.map((d) => d.field),
          ['version'],
          version,
        );
      }
      const res = await postJson(h, `{"model": "mlp", "version": 2147483647, "instances": ${instances}}`);
      assert.match((await json<ErrorBody>(res, 404)).message, /no version 2147483647/);
    });
  });
}

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { IRIS_INFER_HEADER_LENGTH } from '../../scripts/example-models';
import { loadEnvironment } from '../../src/config/environment';
import { memberAt, stablePoint, TrafficMember } from '../../src/models/traffic-policy';
import { createPostgresDatabase, TestDatabase, testEngines } from '../support/postgres';
import { ServiceProcess, spawnService } from '../support/service-process';

/**
 * README's walkthroughs, run as a newcomer would: the ```sh blocks marked `<!-- walkthrough: NAME -->`
 * (from a clone to a prediction and a job, then "Releasing a new version") run in order in one
 * shell (so `$AUTH` and `$JOB` carry over), from the repository root, against the built service
 * started the way `npm start` starts it. Only `start` and `env` are not run: they install and start
 * the service, which this spec does itself, so they are checked for what it relies on instead. The
 * reader's setup is SQLite (no DATABASE_URL); the blocks also run against PostgreSQL, because the
 * release steps write aliases, traffic policies and version status.
 */

const ROOT = path.resolve(__dirname, '../../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);

interface Block {
  name: string;
  code: string;
  /** 1-based line of the block's opening fence in README.md. */
  line: number;
}

/** The ```sh blocks preceded by a `<!-- walkthrough: NAME -->` line, in order. */
function walkthroughBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const pattern = /^<!-- walkthrough: ([a-z0-9-]+) -->\n```sh\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(pattern)) {
    const line = markdown.slice(0, match.index).split('\n').length + 1;
    blocks.push({ name: match[1], code: match[2], line });
  }
  return blocks;
}

const blocks = walkthroughBlocks(README);
const block = (name: string): Block => {
  const found = blocks.find((b) => b.name === name);
  assert.ok(found, `README.md has no walkthrough block named ${name}`);
  return found;
};
/** Not run here: this spec installs nothing and starts the service itself. */
const NOT_RUN = new Set(['start', 'env']);
const MARK = '@@walkthrough-block@@';

// What README's prose promises the reader will see; each must be in README and in the output.
const PREDICTED_LABELS = '"label":{"dtype":"int64","shape":[2],"data":[0,1]}';
const FINISHED_PROGRESS = '"progress":{"done":3,"total":3,"percent":100}';
/** What README says the borderline flower (petal width 1.7 cm) gets from each version. */
const FROM_V1 = '`"version":1` and `"data":[1]`';
const FROM_V2 = '`"version":2` and `"data":[2]`';

/** The order of the blocks: the first walkthrough, then "Releasing a new version". */
const FIRST_WALKTHROUGH = ['me', 'create', 'upload', 'predict', 'infer', 'submit', 'wait', 'results'];
const RELEASE = [
  'champion',
  'pin',
  'upload-v2',
  'still-v1',
  'shadow',
  'mirror',
  'stats',
  'canary',
  'canary-users',
  'promote',
  'all-champion',
  'promoted',
  'rollback',
  'retire',
  'rolled-back',
];

for (const engine of testEngines()) describeWalkthrough(engine);

function describeWalkthrough(engine: 'sqlite' | 'postgres'): void {
  describe(`README walkthroughs on ${engine}`, () => {
    let service: ServiceProcess | undefined;
    let database: TestDatabase | undefined;
    let key: string;
    /** Each run block's standard output, by block name. */
    const outputs = new Map<string, string>();

    before(async () => {
      // The key the start block makes, as it makes it.
      const keyLine = block('start')
        .code.split('\n')
        .find((line) => line.startsWith('export MODELFORGE_KEY='));
      assert.ok(keyLine, 'the start block exports MODELFORGE_KEY');
      key = (await run('bash', ['--norc', '-euc', `${keyLine}\nprintf %s "$MODELFORGE_KEY"`], { env: shellEnv() }))
        .stdout;
      if (engine === 'postgres') database = await createPostgresDatabase();
      service = await spawnService({
        NODE_ENV: 'development',
        ADMIN_API_KEY: key,
        ...(database ? { DATABASE_URL: database.url } : {}),
      });

      const runBlocks = blocks.filter((b) => !NOT_RUN.has(b.name));
      const script = runBlocks.map((b) => `printf '\\n${MARK}%s\\n' '${b.name}'\n${b.code}`).join('\n');
      const env = shellEnv({ MODELFORGE_URL: service.baseUrl, MODELFORGE_KEY: key });
      let stdout: string;
      try {
        // The timeout only turns a hang (a job that never finishes) into a failure.
        ({ stdout } = await run('bash', ['--norc', '-euc', script], { cwd: ROOT, env, timeout: 120_000 }));
      } catch (error) {
        const failed = error as { code?: number; signal?: string; stdout?: string; stderr?: string };
        const started = [...(failed.stdout ?? '').matchAll(new RegExp(`${MARK}(\\S+)`, 'g'))].map((m) => m[1]);
        const last = runBlocks.find((b) => b.name === started.at(-1));
        assert.fail(
          `walkthrough block "${last?.name}" (README.md line ${last?.line}) failed ` +
            `(exit ${failed.code ?? failed.signal}):\n${failed.stderr}\nits output:\n${failed.stdout}\n` +
            `service log:\n${service.stdout().slice(-4000)}${service.stderr().slice(-4000)}`,
        );
      }
      for (const part of stdout.split(`\n${MARK}`).slice(1)) {
        const newline = part.indexOf('\n');
        outputs.set(part.slice(0, newline), part.slice(newline + 1).trim());
      }
    });
    after(async () => {
      await service?.stop();
      await database?.drop();
    });

    const json = <T>(name: string): T => {
      const text = outputs.get(name);
      assert.ok(text !== undefined, `block ${name} did not run`);
      return JSON.parse(text) as T;
    };

    it('starts the service as npm start does, with the admin key the start block makes', () => {
      const start = block('start').code;
      assert.match(start, /^npm ci$/m);
      assert.match(start, /^ADMIN_API_KEY=\$MODELFORGE_KEY npm start\b/m);
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      };
      // spawnService runs dist/src/main.js, which is what npm start builds and runs.
      assert.match(pkg.scripts.start, /&& node dist\/src\/main\.js$/);
      const url = /^export MODELFORGE_URL=http:\/\/localhost:(\d+)$/m.exec(block('env').code);
      assert.ok(url, 'the env block exports MODELFORGE_URL');
      assert.equal(Number(url[1]), loadEnvironment({}).PORT, 'MODELFORGE_URL names the default port');
      assert.match(block('env').code, /^export MODELFORGE_KEY=/m);
    });

    it('runs every block, in order, each to a zero exit status', () => {
      const ran = blocks.filter((b) => !NOT_RUN.has(b.name)).map((b) => b.name);
      assert.deepEqual(ran, [...FIRST_WALKTHROUGH, ...RELEASE]);
      assert.deepEqual([...outputs.keys()], ran);
    });

    it('authenticates with the admin key', () => {
      const me = json<{ role: string }>('me');
      assert.equal(me.role, 'admin');
    });

    it('registers iris and uploads examples/iris.onnx as version 1 with the signature README describes', () => {
      assert.equal(json<{ name: string }>('create').name, 'iris');
      const version = json<{
        version: number;
        status: string;
        inputs: { name: string; dtype: string; shape: number[] }[];
        outputs: { name: string; dtype: string; shape: number[] }[];
      }>('upload');
      assert.equal(version.version, 1);
      assert.equal(version.status, 'ready');
      const signature = (specs: typeof version.inputs) =>
        specs.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
      assert.deepEqual(signature(version.inputs), [{ name: 'x', dtype: 'float32', shape: [-1, 4] }]);
      assert.deepEqual(signature(version.outputs), [
        { name: 'label', dtype: 'int64', shape: [-1] },
        { name: 'probabilities', dtype: 'float32', shape: [-1, 3] },
      ]);
    });

    it('predicts a setosa and a versicolor, as README says', () => {
      assert.ok(README.includes(PREDICTED_LABELS), 'README states the predicted labels');
      assert.ok(outputs.get('predict')?.includes(PREDICTED_LABELS), outputs.get('predict'));
      const prediction = json<{
        model: string;
        version: number;
        outputs: { probabilities: { shape: number[]; data: number[] } };
      }>('predict');
      assert.equal(prediction.model, 'iris');
      assert.equal(prediction.version, 1);
      const { shape, data } = prediction.outputs.probabilities;
      assert.deepEqual(shape, [2, 3]);
      for (const [row, label] of [0, 1].entries()) {
        const probabilities = data.slice(row * 3, row * 3 + 3);
        assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${row} sums to 1`);
        assert.equal(
          probabilities.indexOf(Math.max(...probabilities)),
          label,
          `row ${row}: the label is the likeliest`,
        );
      }
    });

    it('answers the binary Open Inference Protocol request of examples/iris-infer.bin with the same labels', () => {
      const code = block('infer').code;
      assert.ok(
        code.includes(`Inference-Header-Content-Length: ${IRIS_INFER_HEADER_LENGTH}`),
        `the infer block sends the JSON length of examples/iris-infer.bin, ${IRIS_INFER_HEADER_LENGTH}`,
      );
      assert.ok(README.includes(`request (${IRIS_INFER_HEADER_LENGTH} bytes`), 'README states that length');
      const response = json<{
        model_name: string;
        model_version: string;
        outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
      }>('infer');
      assert.equal(response.model_name, 'iris');
      assert.equal(response.model_version, '1');
      assert.ok(README.includes('"model_version":"1"') && README.includes('"data":[0,1]'));
      assert.deepEqual(response.outputs, [{ name: 'label', datatype: 'INT64', shape: [2], data: [0, 1] }]);
    });

    it('runs the job to completed and returns one label per flower, in order', () => {
      assert.match(outputs.get('submit') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.ok(README.includes(FINISHED_PROGRESS), 'README states the finished progress');
      assert.ok(outputs.get('wait')?.includes(FINISHED_PROGRESS), outputs.get('wait'));
      const job = json<{ id: string; model: string; status: string; error: unknown }>('wait');
      assert.deepEqual([job.id, job.model, job.status, job.error], [outputs.get('submit'), 'iris', 'completed', null]);
      const results = json<{ total: number; items: { index: number; outputs: { label: { data: number[] } } }[] }>(
        'results',
      );
      assert.equal(results.total, 3);
      assert.deepEqual(
        results.items.map((item) => [item.index, item.outputs.label.data]),
        [
          [0, [0]],
          [1, [1]],
          [2, [2]],
        ],
      );
    });

    /** A prediction block's version and label. */
    const served = (name: string) => {
      const answer = json<{ model: string; version: number; outputs: { label: { data: number[] } } }>(name);
      assert.equal(answer.model, 'iris');
      return { version: answer.version, label: answer.outputs.label.data };
    };
    const aliases = (name: string) => json<{ aliases: Record<string, number> }>(name).aliases;

    it('pins requests that name no version on champion, so uploading version 2 deploys nothing', () => {
      assert.deepEqual(aliases('champion'), { champion: 1 });
      assert.deepEqual(json('pin'), { split: [{ version: 'champion', weight: 100 }], sticky: null, shadow: null });
      const v2 = json<{ version: number; status: string; description: string }>('upload-v2');
      assert.deepEqual([v2.version, v2.status], [2, 'ready']);
      assert.ok(README.includes(FROM_V1), 'README states what version 1 answers');
      assert.deepEqual(served('still-v1'), { version: 1, label: [1] });
    });

    it('mirrors every request to version 2 without letting it answer, and compares the two as README says', () => {
      assert.deepEqual(json('shadow'), {
        split: [{ version: 'champion', weight: 100 }],
        sticky: null,
        shadow: { version: 2, percent: 100 },
      });
      assert.deepEqual(outputs.get('mirror')?.split('\n'), Array(4).fill('"version":1'));
      const stats = json<{
        model: string;
        versions: { version: number; requests: number; errors: number }[];
        shadows: { version: number; mirrored: number; dropped: number; compared: number; agreement: number }[];
      }>('stats');
      assert.equal(stats.model, 'iris');
      assert.deepEqual(
        stats.versions.map(({ version, errors }) => ({ version, errors })),
        [{ version: 1, errors: 0 }],
      );
      assert.ok(README.includes('`"agreement":0.75`'), 'README states the agreement');
      assert.deepEqual(
        stats.shadows.map(({ version, mirrored, dropped, compared, agreement }) => ({
          version,
          mirrored,
          dropped,
          compared,
          agreement,
        })),
        [{ version: 2, mirrored: 4, dropped: 0, compared: 4, agreement: 0.75 }],
      );
    });

    it('sends the canary share to version 2, each user on one version, as many users as README says', () => {
      const policy = json<{ split: TrafficMember[]; sticky: { header: string } }>('canary');
      assert.deepEqual(policy, {
        split: [
          { version: 'champion', weight: 95 },
          { version: 2, weight: 5 },
        ],
        sticky: { header: 'x-user-id' },
        shadow: null,
      });
      // The same users, placed by the same stable hash the server uses.
      const users = Array.from({ length: 200 }, (_, i) => `user-${i + 1}`);
      assert.match(block('canary-users').code, /seq 1 200\b[\s\S]*X-User-Id: user-\$user/);
      const onV2 = users.filter((user) => memberAt(policy.split, stablePoint(user)).version === 2).length;
      assert.ok(onV2 > 0 && onV2 < users.length);
      assert.ok(
        README.includes(`Of 200 users, ${onV2} land on version 2`),
        `README says ${onV2} users land on version 2`,
      );
      const counts = Object.fromEntries(
        (outputs.get('canary-users') ?? '').split('\n').map((line) => {
          const [count, version] = line.trim().split(/\s+/);
          return [version, Number(count)];
        }),
      );
      assert.deepEqual(counts, { '"version":1': users.length - onV2, '"version":2': onV2 });
    });

    it('promotes version 2 by moving champion, then rolls back by moving it again', () => {
      assert.deepEqual(aliases('promote'), { champion: 2 });
      assert.deepEqual(json('all-champion'), {
        split: [{ version: 'champion', weight: 100 }],
        sticky: null,
        shadow: null,
      });
      assert.ok(README.includes(FROM_V2), 'README states what version 2 answers');
      assert.deepEqual(served('promoted'), { version: 2, label: [2] });
      assert.deepEqual(aliases('rollback'), { champion: 1 });
    });

    it('retires version 2: archived, no policy, requests that name no version get version 1', () => {
      const archived = json<{ version: number; status: string }>('retire');
      assert.deepEqual([archived.version, archived.status], [2, 'archived']);
      assert.match(block('retire').code, /-X DELETE "\$MODELFORGE_URL\/api\/v1\/models\/iris\/traffic"/);
      assert.deepEqual(served('rolled-back'), { version: 1, label: [1] });
    });
  });
}

/** Only what a newcomer's shell would have: PATH (this Node first) and the given variables. */
function shellEnv(variables: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...variables };
}

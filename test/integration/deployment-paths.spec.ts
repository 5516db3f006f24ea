import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadEnvironment } from '../../src/config/environment';
import {
  healthRoutes,
  knownVariables,
  REPO_ROOT,
  repoFile,
  settingOf,
  shutdownMs,
  stringMap,
  yamlDocuments,
} from '../support/deployment-files';

/**
 * The deployment paths besides Kubernetes, against the app and each other: the CI workflow for
 * forks runs .ci/run with the services where .ci/run looks for them; railway.json checks a real
 * readiness route and starts what the image starts; docker-compose.yml runs the api and the worker
 * on the S3 store with variables the app reads; the Dockerfile's image is non-root and probes a
 * real route.
 */

interface WorkflowJob {
  services?: Record<string, { image: string; env?: Record<string, string>; ports?: string[]; options?: string }>;
  steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
}
interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, unknown>;
  ports?: string[];
  volumes?: string[];
  read_only?: boolean;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  entrypoint?: string[];
}

/** The instructions of the Dockerfile's last stage, continuation lines joined. */
function runtimeStage(): { instruction: string; args: string }[] {
  const text = repoFile('Dockerfile').replace(/\\\n/g, ' ');
  const lines = text.split('\n').filter((line) => line.trim() && !line.trimStart().startsWith('#'));
  const from = lines.map((line, i) => (/^FROM\s/i.test(line) ? i : -1)).filter((i) => i >= 0);
  return lines.slice(from[from.length - 1]).map((line) => {
    const [, instruction, args] = /^\s*(\w+)\s*(.*)$/.exec(line)!;
    return { instruction: instruction.toUpperCase(), args: args.trim() };
  });
}

function dockerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { instruction, args } of runtimeStage())
    if (instruction === 'ENV') for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) env[k] = v;
  return env;
}

function dockerCommand(): string[] {
  const cmd = runtimeStage().find((i) => i.instruction === 'CMD');
  return JSON.parse(cmd!.args) as string[];
}

const seconds = (duration: string): number => {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  assert.ok(match, `a duration: ${duration}`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[match[2] as 'ms' | 's' | 'm'];
};

describe('CI workflow for forks (.github/workflows/ci.yml)', () => {
  const workflow = yamlDocuments('.github/workflows/ci.yml')[0] as { jobs: Record<string, WorkflowJob> };
  const ciRun = repoFile('.ci/run');
  const job = Object.values(workflow.jobs).find((j) => j.steps.some((s) => s.run?.trim() === '.ci/run'));

  it('runs .ci/run, last, on the oldest Node.js major the package supports', () => {
    assert.ok(job, 'a job runs .ci/run');
    assert.equal(job.steps[job.steps.length - 1].run?.trim(), '.ci/run');
    const engines = (JSON.parse(repoFile('package.json')) as { engines: { node: string } }).engines.node;
    const oldest = /\^(\d+)\./.exec(engines)![1];
    const setup = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    assert.equal(String(setup?.with?.['node-version']), oldest);
    assert.ok(fs.statSync(path.join(REPO_ROOT, '.ci/run')).mode & 0o100, '.ci/run is executable');
  });

  it('has PostgreSQL and Redis, healthy, on the ports and user .ci/run connects with', () => {
    const services = Object.values(job!.services ?? {});
    const postgres = services.find((s) => s.image.startsWith('postgres:'));
    const redis = services.find((s) => s.image.startsWith('redis:'));
    assert.ok(postgres && redis, 'both services');
    const pgPort = /pg_isready -h 127\.0\.0\.1 -p (\d+)/.exec(ciRun)![1];
    const redisPort = /redis-cli -h 127\.0\.0\.1 -p (\d+)/.exec(ciRun)![1];
    assert.ok(postgres.ports?.includes(`${pgPort}:5432`), `PostgreSQL on ${pgPort}`);
    assert.ok(redis.ports?.includes(`${redisPort}:6379`), `Redis on ${redisPort}`);
    // .ci/run runs psql as postgres with no password.
    assert.match(ciRun, /psql -h 127\.0\.0\.1 -U postgres/);
    assert.equal(postgres.env?.POSTGRES_HOST_AUTH_METHOD, 'trust');
    assert.equal(postgres.env?.POSTGRES_USER ?? 'postgres', 'postgres');
    for (const service of [postgres, redis]) assert.match(service.options ?? '', /--health-cmd/);
  });

  it('installs the client tools .ci/run calls', () => {
    const installs = job!.steps.map((s) => s.run ?? '').join('\n');
    for (const [tool, pkg] of [
      ['pg_isready', 'postgresql-client'],
      ['psql', 'postgresql-client'],
      ['redis-cli', 'redis-tools'],
    ]) {
      assert.ok(ciRun.includes(tool), `.ci/run uses ${tool}`);
      assert.ok(installs.includes(pkg), `the workflow installs ${pkg} for ${tool}`);
    }
  });
});

describe('railway.json', () => {
  const railway = JSON.parse(repoFile('railway.json')) as {
    build: { builder: string; dockerfilePath: string };
    deploy: Record<string, unknown>;
  };

  it('builds the Dockerfile and starts what the image starts', () => {
    assert.equal(railway.build.builder, 'DOCKERFILE');
    assert.ok(fs.existsSync(path.join(REPO_ROOT, railway.build.dockerfilePath)));
    assert.equal(railway.deploy.startCommand, dockerCommand().join(' '));
  });

  it('checks health on the readiness route, and drains longer than the app takes to stop', () => {
    assert.equal(railway.deploy.healthcheckPath, healthRoutes().ready);
    assert.equal(typeof railway.deploy.healthcheckTimeout, 'number');
    assert.ok(['ON_FAILURE', 'ALWAYS', 'NEVER'].includes(railway.deploy.restartPolicyType as string));
    // Railway's docs show drainingSeconds as a string; its parser takes a number only.
    assert.equal(typeof railway.deploy.drainingSeconds, 'number');
    assert.ok((railway.deploy.drainingSeconds as number) * 1000 > shutdownMs({}), 'drainingSeconds > shutdown');
  });
});

describe('docker-compose.yml', () => {
  const compose = yamlDocuments('docker-compose.yml')[0] as { services: Record<string, ComposeService> };
  const services = compose.services;
  const app = Object.entries(services).filter(([, s]) => s.build !== undefined);
  const envOf = (service: ComposeService): Record<string, string> => stringMap(service.environment);

  it('runs an api and a worker from the image, with variables the app reads', () => {
    assert.deepEqual(app.map(([, s]) => envOf(s).APP_ROLE).sort(), ['api', 'worker']);
    const known = knownVariables();
    for (const [name, service] of app)
      for (const variable of Object.keys(envOf(service)))
        assert.ok(known.has(variable), `${name} sets ${variable}, which the app does not read`);
  });

  it("the settings of each, with the shell and ./.env unset, pass the app's validation", () => {
    for (const [name, service] of app) {
      // Compose's ${NAME:-default} with NAME unset is the default.
      const env = Object.fromEntries(
        Object.entries(envOf(service)).map(([k, v]) => [k, v.replace(/\$\{\w+(?::?-([^}]*))?\}/g, '$1')]),
      );
      assert.doesNotThrow(() => loadEnvironment(env), name);
    }
  });

  it('stores artifacts in the compose-local S3, whose bucket exists before the app starts', () => {
    for (const [name, service] of app) {
      const env = envOf(service);
      assert.equal(env.ARTIFACT_STORE, 's3', name);
      const endpoint = new URL(env.S3_ENDPOINT);
      const s3 = services[endpoint.hostname];
      assert.ok(s3?.image?.startsWith('minio/minio'), `${name}: S3_ENDPOINT is the minio service`);
      assert.equal(env.S3_FORCE_PATH_STYLE, 'true');
      assert.equal(env.AWS_ACCESS_KEY_ID, stringMap(s3.environment).MINIO_ROOT_USER);
      assert.equal(env.AWS_SECRET_ACCESS_KEY, stringMap(s3.environment).MINIO_ROOT_PASSWORD);
      const [init] = Object.entries(services).filter(([, s]) =>
        s.entrypoint?.join(' ').includes(`mb --ignore-existing`),
      );
      assert.ok(init, 'a service creates the bucket');
      assert.ok(init[1].entrypoint!.join(' ').includes(`local/${env.S3_BUCKET}`), `it creates ${env.S3_BUCKET}`);
      assert.equal(service.depends_on?.[init[0]]?.condition, 'service_completed_successfully');
    }
  });

  it('the api and the worker share no volume and write only to their own DATA_DIR', () => {
    for (const [name, service] of app) {
      assert.deepEqual(service.volumes ?? [], [], `${name} mounts nothing (the image's VOLUME is its own)`);
      assert.equal(service.read_only, true, `${name} has a read-only root filesystem`);
    }
    const volume = runtimeStage().find((i) => i.instruction === 'VOLUME');
    for (const [, service] of app) assert.ok(volume?.args.includes(envOf(service).DATA_DIR), 'DATA_DIR is the VOLUME');
  });

  it('stop_grace_period exceeds SHUTDOWN_DRAIN_MS + SHUTDOWN_GRACE_MS; the api publishes its ports', () => {
    for (const [name, service] of app)
      assert.ok(seconds(service.stop_grace_period ?? '10s') * 1000 > shutdownMs(envOf(service)), name);
    const api = app.find(([, s]) => envOf(s).APP_ROLE === 'api')![1];
    const env = envOf(api);
    for (const port of [settingOf(env, 'PORT'), settingOf(env, 'GRPC_PORT')])
      assert.ok(api.ports?.includes(`${port}:${port}`), `publishes ${port}`);
  });
});

describe('Dockerfile', () => {
  const stage = runtimeStage();

  it('runs as an unprivileged numeric user', () => {
    const user = stage.filter((i) => i.instruction === 'USER').pop();
    assert.ok(user, 'the runtime stage sets USER');
    const uid = Number(user.args.split(':')[0]);
    assert.ok(Number.isInteger(uid) && uid > 0, `USER ${user.args} is numeric and not root`);
  });

  it("exposes the app's ports, sets only variables the app reads, and probes the liveness route", () => {
    const env = dockerEnv();
    const known = knownVariables();
    for (const name of Object.keys(env)) assert.ok(known.has(name), `ENV ${name} is not read by the app`);
    const exposed = stage
      .filter((i) => i.instruction === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/))
      .sort();
    assert.deepEqual(exposed, [settingOf(env, 'PORT'), settingOf(env, 'GRPC_PORT')].sort());
    const healthcheck = stage.find((i) => i.instruction === 'HEALTHCHECK');
    assert.ok(healthcheck?.args.includes(`path:'${healthRoutes().live}'`), 'HEALTHCHECK calls the liveness route');
    assert.deepEqual(dockerCommand(), ['node', 'dist/src/main.js']);
  });
});

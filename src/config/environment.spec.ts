import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './app-config';
import { EnvironmentError, loadEnvironment } from './environment';

describe('loadEnvironment', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.http.port, 3000);
    assert.equal(config.database.url, undefined);
    assert.equal(config.redis.url, undefined);
    assert.equal(config.log.level, 'info');
    assert.equal(config.log.format, 'pretty', 'development logs are readable');
    assert.equal(config.models.maxModelBytes, 512 * 1024 * 1024);
    assert.equal(config.http.corsOrigins, undefined);
    assert.equal(config.database.runMigrations, true);
    assert.ok(config.database.sqlitePath.endsWith('modelforge.sqlite'));
  });

  it('reads typed values', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/mf',
      REDIS_URL: 'redis://cache:6379',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      DATABASE_MIGRATIONS_RUN: 'false',
      MAX_MODEL_BYTES: '2048',
    });
    assert.equal(config.http.port, 8080);
    assert.equal(config.log.format, 'json');
    assert.equal(config.database.url, 'postgres://u:p@db:5432/mf');
    assert.deepEqual(config.http.corsOrigins, ['https://a.example', 'https://b.example']);
    assert.equal(config.database.runMigrations, false);
    assert.equal(config.models.maxModelBytes, 2048);
  });

  it('is one object grouped by feature, frozen all the way down', () => {
    const config = loadConfig({ CORS_ORIGINS: 'https://a.example', APP_ROLE: 'api', JOBS_LOCK_MS: '5000' });
    assert.deepEqual(config.app, { nodeEnv: 'development', role: 'api', servesApi: true, runsJobs: false });
    assert.equal(config.jobs.lockMs, 5000);
    assert.ok(config.inference.workers >= 1 && config.inference.intraOpThreads >= 1, '0 resolves to a count');
    for (const frozen of [
      config,
      config.http,
      config.http.corsOrigins,
      config.auth.rateLimitPerMinute,
      config.secrets,
    ]) {
      assert.ok(Object.isFrozen(frozen));
    }
    assert.throws(() => {
      (config.jobs as { lockMs: number }).lockMs = 1;
    }, TypeError);
    assert.throws(() => (config.http.corsOrigins as string[]).push('https://b.example'), TypeError);
  });

  it('treats an empty string like an unset variable', () => {
    assert.equal(loadConfig({ DATABASE_URL: '', PORT: '' }).http.port, 3000);
  });

  it('reports one line per bad variable, naming it and its value', () => {
    assert.throws(
      () =>
        loadEnvironment({
          PORT: '70000',
          DATABASE_URL: 'mysql://x',
          REDIS_URL: 'localhost:6379',
          LOG_LEVEL: 'verbose',
          CORS_ORIGINS: 'not a url',
          SHUTDOWN_GRACE_MS: 'soon',
        }),
      (error: unknown) => {
        assert.ok(error instanceof EnvironmentError);
        const byVariable = new Map(error.problems.map((p) => [p.split('=')[0], p]));
        assert.deepEqual(
          [...byVariable.keys()].sort(),
          ['CORS_ORIGINS', 'DATABASE_URL', 'LOG_LEVEL', 'PORT', 'REDIS_URL', 'SHUTDOWN_GRACE_MS'].sort(),
        );
        assert.match(byVariable.get('PORT') ?? '', /"70000": must not be greater than 65535/);
        assert.match(byVariable.get('SHUTDOWN_GRACE_MS') ?? '', /must be an integer/);
        assert.ok(!error.message.includes('\n  \n'));
        return true;
      },
    );
  });

  for (const value of ['*', 'https://a.example,*', '*.example.com', 'https://*.example.com']) {
    it(`refuses CORS_ORIGINS=${value}: credentials are allowed, so only an allowlist of origins`, () => {
      assert.throws(
        () => loadEnvironment({ CORS_ORIGINS: value }),
        (error: unknown) => {
          assert.ok(error instanceof EnvironmentError);
          assert.equal(error.problems.length, 1);
          assert.match(error.problems[0], /^CORS_ORIGINS=.*no wildcard/);
          return true;
        },
      );
    });
  }

  it('reads the rate-limit defaults per role and the Redis timeout of the limiter', () => {
    const defaults = loadConfig({}).auth;
    assert.deepEqual(defaults.rateLimitPerMinute, { admin: 0, maintainer: 6000, predictor: 6000, viewer: 600 });
    assert.equal(defaults.rateLimitTimeoutMs, 100);
    const set = loadConfig({
      RATE_LIMIT_VIEWER_PER_MINUTE: '2',
      RATE_LIMIT_ADMIN_PER_MINUTE: '10',
      RATE_LIMIT_TIMEOUT_MS: '50',
    }).auth;
    assert.equal(set.rateLimitPerMinute.viewer, 2);
    assert.equal(set.rateLimitPerMinute.admin, 10);
    assert.equal(set.rateLimitTimeoutMs, 50);
    assert.throws(() => loadEnvironment({ RATE_LIMIT_PREDICTOR_PER_MINUTE: '-1' }), /RATE_LIMIT_PREDICTOR_PER_MINUTE/);
    assert.throws(() => loadEnvironment({ RATE_LIMIT_TIMEOUT_MS: '0' }), /RATE_LIMIT_TIMEOUT_MS/);
  });

  it('with ARTIFACT_STORE=s3, names each missing S3 variable and a cache smaller than the largest model', () => {
    assert.throws(
      () => loadEnvironment({ ARTIFACT_STORE: 's3', ARTIFACT_CACHE_MAX_BYTES: '1048576' }),
      (error: EnvironmentError) => {
        assert.deepEqual(error.problems, [
          'S3_BUCKET: required with ARTIFACT_STORE=s3',
          'S3_REGION: required with ARTIFACT_STORE=s3',
          'ARTIFACT_CACHE_MAX_BYTES="1048576": must be at least MAX_MODEL_BYTES with ARTIFACT_STORE=s3 (the cache holds the file of every loaded model)',
        ]);
        return true;
      },
    );
    assert.throws(
      () =>
        loadEnvironment({ ARTIFACT_STORE: 'gcs', S3_BUCKET: 'Bad_Bucket', S3_PREFIX: '/abs', S3_ENDPOINT: 'ftp://x' }),
      (error: EnvironmentError) => {
        const named = error.problems.map((line) => line.split('=')[0]).sort();
        assert.deepEqual(named, ['ARTIFACT_STORE', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_PREFIX']);
        return true;
      },
    );
  });

  it('builds the s3 store settings, and none for the local store', () => {
    const config = loadConfig({
      ARTIFACT_STORE: 's3',
      S3_BUCKET: 'models',
      S3_REGION: 'eu-west-1',
      S3_ENDPOINT: 'http://minio:9000',
      S3_PREFIX: 'prod/',
      S3_FORCE_PATH_STYLE: 'true',
    });
    assert.deepEqual(config.storage.s3, {
      endpoint: 'http://minio:9000',
      region: 'eu-west-1',
      bucket: 'models',
      prefix: 'prod/',
      forcePathStyle: true,
    });
    assert.equal(config.storage.cacheMaxBytes, 4 * 1024 ** 3);
    assert.equal(loadConfig({}).storage.s3, undefined);
  });
});

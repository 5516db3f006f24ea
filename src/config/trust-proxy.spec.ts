import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { loadConfig } from './app-config';
import { EnvironmentError, loadEnvironment } from './environment';
import { isTrustProxy, parseTrustProxy } from './trust-proxy';

describe('TRUST_PROXY', () => {
  it('defaults to false: req.ip is the socket peer, X-Forwarded-For is ignored', () => {
    assert.equal(loadConfig({}).http.trustProxy, false);
  });

  it('reads true, a hop count, and lists of addresses, subnets and named ranges', () => {
    assert.equal(parseTrustProxy('true'), true);
    assert.equal(parseTrustProxy(' 2 '), 2);
    assert.deepEqual(parseTrustProxy('loopback, 10.0.0.0/8,fd00::/8'), ['loopback', '10.0.0.0/8', 'fd00::/8']);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.1.2.3' }).http.trustProxy, ['10.1.2.3']);
  });

  it('accepts only what Express accepts, so a bad value is a config error, not a crash at start', () => {
    for (const good of [
      'false',
      'true',
      '1',
      'loopback',
      'uniquelocal,linklocal',
      '192.168.0.0/16',
      '::1',
      '2001:db8::/32',
    ]) {
      assert.ok(isTrustProxy(good), good);
      assert.doesNotThrow(() => express().set('trust proxy', parseTrustProxy(good)), good);
    }
    for (const bad of ['yes', '999.1.1.1', '10.0.0.0/33', '::1/129', 'loopback/8', '10.0.0.1/8/8', '', 'a,b']) {
      assert.ok(!isTrustProxy(bad), bad);
    }
    assert.throws(
      () => loadEnvironment({ TRUST_PROXY: '10.0.0.0/40' }),
      (error: unknown) =>
        error instanceof EnvironmentError && /^TRUST_PROXY="10.0.0.0\/40": must be false/.test(error.problems[0]),
    );
  });
});

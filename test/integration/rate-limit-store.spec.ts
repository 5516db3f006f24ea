import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { RedisBucketStore } from '../../src/auth/rate-limit/redis-bucket-store';
import { BucketState, takeToken } from '../../src/auth/rate-limit/token-bucket';
import { redisTestUrl } from '../support/redis-server';
import { freePort } from '../support/service-process';

/**
 * The Redis token bucket (a Lua script) against the arithmetic of token-bucket.ts, on the real
 * Redis; and what the store does when Redis is gone or stops answering.
 */

const T0 = 1_700_000_000_000;
const prefix = `mf-ratelimit-test-${randomBytes(4).toString('hex')}`;

async function started(store: RedisBucketStore): Promise<RedisBucketStore> {
  await store.onModuleInit();
  return store;
}

describe('RedisBucketStore on a live Redis', () => {
  const stores: RedisBucketStore[] = [];
  const open = async (timeoutMs = 2_000) => {
    const store = await started(new RedisBucketStore(redisTestUrl(), timeoutMs));
    stores.push(store);
    return store;
  };
  after(async () => {
    for (const store of stores) await store.onModuleDestroy();
  });

  it('makes the same decisions as takeToken for any sequence of requests and clocks', async () => {
    const store = await open();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        // Mostly forward steps, some of zero, some backwards (another replica's clock).
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 90_000 }), fc.integer({ min: -5_000, max: -1 })), {
          minLength: 1,
          maxLength: 30,
        }),
        async (limit, steps) => {
          const key = `${prefix}:model-${run++}`;
          let model: BucketState | undefined;
          let now = T0;
          for (const step of steps) {
            now += step;
            const expected = takeToken(model, limit, now);
            if (expected.next) model = expected.next;
            const actual = await store.take(key, limit, now);
            assert.deepEqual(actual, { allowed: expected.allowed, units: expected.units }, `limit ${limit} at ${now}`);
          }
        },
      ),
      { numRuns: 60, seed: 9 },
    );
  });

  it('drains a small bucket to zero and refills it by the time it is given', async () => {
    const store = await open();
    const key = `${prefix}:small`;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await store.take(key, 3, T0)).allowed);
    assert.deepEqual(answers, [true, true, true, false]);
    assert.equal((await store.take(key, 3, T0 + 19_999)).allowed, false);
    assert.equal((await store.take(key, 3, T0 + 20_000)).allowed, true, 'one token after 20 s at 3/min');
  });

  it('shares one bucket between two stores (two replicas)', async () => {
    const [a, b] = [await open(), await open()];
    const key = `${prefix}:shared`;
    assert.equal((await a.take(key, 2, T0)).allowed, true);
    assert.equal((await b.take(key, 2, T0)).allowed, true);
    assert.equal((await a.take(key, 2, T0)).allowed, false);
    assert.equal((await b.take(key, 2, T0)).allowed, false);
  });
});

describe('RedisBucketStore without a working Redis', () => {
  it('decides locally at once when nothing listens, and counts every such decision', async () => {
    let local = 0;
    const store = await started(new RedisBucketStore(`redis://127.0.0.1:${await freePort()}`, 100, () => local++));
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push((await store.take(`${prefix}:dead`, 2, T0)).allowed);
      assert.deepEqual(answers, [true, true, false], 'the limit still holds, per replica');
      assert.equal(local, 3);
    } finally {
      await store.onModuleDestroy();
    }
  });

  it('waits one timeout for a Redis that stopped answering, then leaves it alone for a while', async () => {
    // Answers the connection's handshake (CLIENT SETINFO, the INFO ready check), then swallows
    // every script, like a Redis that froze.
    let scripts = 0;
    const info = '# Server\r\nredis_version:7.0.0\r\nloading:0\r\n';
    const frozen = net.createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        for (const [, name] of chunk.toString().matchAll(/\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g)) {
          const command = name.toLowerCase();
          if (command === 'evalsha' || command === 'eval') scripts++;
          else if (command === 'info') socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
          else socket.write('+OK\r\n');
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    const { port } = frozen.address() as net.AddressInfo;
    let local = 0;
    const store = await started(new RedisBucketStore(`redis://127.0.0.1:${port}`, 200, () => local++));
    try {
      const first = await store.take(`${prefix}:frozen`, 5, T0);
      assert.equal(first.allowed, true, 'decided locally after the timeout');
      for (let i = 0; i < 4; i++) await store.take(`${prefix}:frozen`, 5, T0);
      assert.equal((await store.take(`${prefix}:frozen`, 5, T0)).allowed, false, 'the local bucket holds 5');
      assert.equal(scripts, 1, 'only the first request waited for the frozen Redis');
      assert.equal(local, 6);
    } finally {
      await store.onModuleDestroy();
      await new Promise((resolve) => frozen.close(resolve));
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventEmitter2 } from '@nestjs/event-emitter';
import Redis from 'ioredis';
import { RedisBroadcast } from '../../src/common/redis-broadcast';
import { MODEL_CHANGED, MODELS_RESYNC, ModelChangedEvent, RedisModelEvents } from '../../src/models/model-events';
import { redisPrefix } from '../support/job-helpers';
import { PrivateRedis, startPrivateRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

/**
 * The Redis channel replicas announce changes on (RedisBroadcast), and ModelEvents on top of it,
 * against a redis-server of this spec's own: it is killed and restarted to lose the subscription.
 */

interface Note {
  n: number;
}

/** A broadcast on `channel` that records what it hears and how often it resubscribed. */
function listener(url: string, channel: string) {
  const heard: Note[] = [];
  let resubscribed = 0;
  const broadcast = new RedisBroadcast<Note>(url, channel, 'test notes', {
    message: (event) => heard.push(event),
    resubscribed: () => resubscribed++,
  });
  return { broadcast, heard, resubscribed: () => resubscribed };
}

const changed = (model: string): ModelChangedEvent => ({
  model,
  kind: 'version-deleted',
  servingChanged: true,
  released: ['a'.repeat(64)],
});

describe('RedisBroadcast and RedisModelEvents', () => {
  let redis: PrivateRedis;
  let raw: Redis;
  const channel = `${redisPrefix('broadcast')}:notes`;
  let a: ReturnType<typeof listener>;
  let b: ReturnType<typeof listener>;

  before(async () => {
    redis = await startPrivateRedis();
    raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    raw.on('error', () => undefined); // reconnects while the spec's Redis is down
    a = listener(redis.url, channel);
    b = listener(redis.url, channel);
    await Promise.all([a.broadcast.ready(), b.broadcast.ready()]);
  });
  after(async () => {
    a?.broadcast.close();
    b?.broadcast.close();
    raw?.disconnect();
    await redis?.kill();
  });

  it('delivers a message to the other replicas, never back to its publisher', async () => {
    await a.broadcast.publish({ n: 1 }, 'unheard');
    await waitFor(() => b.heard.length === 1, { what: 'B to hear A' });
    // B's answer reaches A after anything A would have heard of its own message.
    await b.broadcast.publish({ n: 2 }, 'unheard');
    await waitFor(() => a.heard.length === 1, { what: 'A to hear B' });
    assert.deepEqual(a.heard, [{ n: 2 }]);
    assert.deepEqual(b.heard, [{ n: 1 }]);
  });

  it('ignores what is not a message of a replica, and goes on delivering', async () => {
    a.heard.length = 0;
    for (const junk of ['not json', 'null', '{"event":{"n":9}}', '{"origin":"x","event":"text"}', '{"origin":"x"}']) {
      await raw.publish(channel, junk);
    }
    await b.broadcast.publish({ n: 3 }, 'unheard');
    await waitFor(() => a.heard.length === 1, { what: 'A to hear the message after the junk' });
    assert.deepEqual(a.heard, [{ n: 3 }]);
  });

  it('RedisModelEvents: a heard change runs the listeners here, marked fromReplica; a malformed one does not', async () => {
    const emitters = [new EventEmitter2(), new EventEmitter2()];
    const seen: ModelChangedEvent[][] = [[], []];
    emitters.forEach((emitter, i) => emitter.on(MODEL_CHANGED, (event: ModelChangedEvent) => seen[i].push(event)));
    const modelChannel = `${redisPrefix('broadcast')}:model-events`;
    const [one, two] = emitters.map((emitter) => new RedisModelEvents(emitter, redis.url, modelChannel));
    try {
      await Promise.all([one.onModuleInit(), two.onModuleInit()]);
      // Fields missing or of the wrong type: ignored by the receiver, whoever sent it.
      await raw.publish(modelChannel, JSON.stringify({ origin: 'other', event: { model: 'm', kind: 'deleted' } }));
      await raw.publish(modelChannel, JSON.stringify({ origin: 'other', event: { ...changed('m'), released: [1] } }));
      await one.changed(changed('first'));
      assert.deepEqual(seen[0], [changed('first')], 'the writer ran its listeners once, before publishing');
      await waitFor(() => seen[1].length === 1, { what: 'the other replica to hear the change' });
      assert.deepEqual(seen[1], [{ ...changed('first'), fromReplica: true }]);
    } finally {
      one.onModuleDestroy();
      two.onModuleDestroy();
    }
  });

  it('after Redis comes back, says the subscription was lost (resubscribed), then delivers again', async () => {
    const emitter = new EventEmitter2();
    let resyncs = 0;
    emitter.on(MODELS_RESYNC, () => resyncs++);
    const events = new RedisModelEvents(emitter, redis.url, `${redisPrefix('broadcast')}:model-events`);
    try {
      await events.onModuleInit();
      await redis.kill();
      // Publishing while Redis is down does not fail the write that committed.
      await a.broadcast.publish({ n: 4 }, 'unheard while down');
      await events.changed(changed('while-down'));
      await redis.restart();
      await waitFor(() => a.resubscribed() === 1 && b.resubscribed() === 1 && resyncs === 1, {
        what: 'every subscriber to resubscribe',
      });
      b.heard.length = 0;
      await a.broadcast.publish({ n: 5 }, 'unheard');
      await waitFor(() => b.heard.some((note) => note.n === 5), { what: 'B to hear A after the restart' });
    } finally {
      events.onModuleDestroy();
    }
  });
});

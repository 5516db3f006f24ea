import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { withTimeout } from '../common/timeout';

/** Credential changes every replica must apply at once (drop cached keys, users, sessions). */
export type AuthEvent =
  | { type: 'key.changed'; prefix: string }
  | { type: 'user.changed'; userId: string }
  | { type: 'token-family.revoked'; familyId: string }
  /** Everything cached may be stale (delivered locally after the Redis subscription reconnects). */
  | { type: 'flush' };

/**
 * Publishes credential changes to every replica. In-process without Redis; with REDIS_URL over a
 * Redis channel, so a revoked key stops working on all replicas as soon as the message lands.
 */
export abstract class AuthEvents {
  protected readonly emitter = new EventEmitter();

  abstract publish(event: AuthEvent): Promise<void>;

  on(handler: (event: AuthEvent) => void): void {
    this.emitter.on('event', handler);
  }

  protected deliver(event: AuthEvent): void {
    this.emitter.emit('event', event);
  }
}

export class LocalAuthEvents extends AuthEvents {
  publish(event: AuthEvent): Promise<void> {
    this.deliver(event);
    return Promise.resolve();
  }
}

/** How long the start waits for the subscription, and a publish for Redis. */
const REDIS_WAIT_MS = 2_000;
const OUTAGE_LOG_INTERVAL_MS = 30_000;

export class RedisAuthEvents extends AuthEvents implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('AuthEvents');
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  /** Marks this replica's own messages, which it has already applied. */
  private readonly origin = randomUUID();
  private subscribedOnce = false;
  private readonly subscribed: Promise<unknown>;
  private lastOutageLog = 0;

  constructor(
    url: string,
    private readonly channel: string,
  ) {
    super();
    const options = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error: Error) => this.outage('Redis error on auth events', error));
    }
    this.subscribed = this.subscriber
      .subscribe(this.channel)
      .catch((error: Error) =>
        this.outage('Cannot subscribe to auth events yet (Redis resubscribes when back)', error),
      );
    // Messages sent while the subscription was down are lost: after a reconnect, drop every cache.
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) this.deliver({ type: 'flush' });
      this.subscribedOnce = true;
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        const parsed = JSON.parse(message) as { origin: string; event: AuthEvent };
        if (parsed.origin !== this.origin) this.deliver(parsed.event);
      } catch {
        this.logger.warn('Ignored a malformed auth event');
      }
    });
  }

  /** Serving starts once this replica hears changes (or after REDIS_WAIT_MS if Redis is down). */
  async onModuleInit(): Promise<void> {
    await Promise.race([this.subscribed, new Promise((resolve) => setTimeout(resolve, REDIS_WAIT_MS).unref())]);
  }

  /**
   * Applies the change here at once, then tells the other replicas. A write that committed is not
   * failed because Redis is down: the others then apply it when their cached copy expires (60 s).
   */
  async publish(event: AuthEvent): Promise<void> {
    this.deliver(event);
    const message = JSON.stringify({ origin: this.origin, event });
    try {
      await withTimeout(
        this.publisher.publish(this.channel, message),
        REDIS_WAIT_MS,
        () => new Error('publish timed out'),
      );
    } catch (error) {
      this.outage('Could not announce an auth change; other replicas apply it within 60 s', error as Error);
    }
  }

  /** Logs a Redis problem at most once per interval (reconnect attempts would flood the log). */
  private outage(msg: string, error: Error): void {
    const now = Date.now();
    if (now - this.lastOutageLog < OUTAGE_LOG_INTERVAL_MS) return;
    this.lastOutageLog = now;
    this.logger.warn({ msg, err: error.message });
  }

  onModuleDestroy(): void {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';

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
  async publish(event: AuthEvent): Promise<void> {
    this.deliver(event);
  }
}

export class RedisAuthEvents extends AuthEvents implements OnModuleDestroy {
  private readonly logger = new Logger('AuthEvents');
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  /** Marks this replica's own messages, which it has already applied. */
  private readonly origin = randomUUID();
  private subscribedOnce = false;

  constructor(
    url: string,
    private readonly channel: string,
  ) {
    super();
    const options = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error: Error) => this.logger.warn({ msg: 'Redis error on auth events', err: error.message }));
    }
    void this.subscriber
      .subscribe(this.channel)
      .catch((error: Error) => this.logger.error({ msg: 'Cannot subscribe to auth events', err: error.message }));
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

  /** Applies the change here at once, then tells the other replicas. */
  async publish(event: AuthEvent): Promise<void> {
    this.deliver(event);
    await this.publisher.publish(this.channel, JSON.stringify({ origin: this.origin, event }));
  }

  async onModuleDestroy(): Promise<void> {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}

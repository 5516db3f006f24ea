import { EventEmitter } from 'node:events';
import { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RedisBroadcast } from '../common/redis-broadcast';

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

/**
 * Credential changes over a Redis channel (RedisBroadcast): applied here at once, then heard by
 * every other replica. After the subscription reconnects, everything cached is dropped (`flush`).
 */
export class RedisAuthEvents extends AuthEvents implements OnModuleInit, OnModuleDestroy {
  private readonly broadcast: RedisBroadcast<AuthEvent>;

  constructor(url: string, channel: string) {
    super();
    this.broadcast = new RedisBroadcast<AuthEvent>(url, channel, 'auth events', {
      message: (event) => this.deliver(event),
      resubscribed: () => this.deliver({ type: 'flush' }),
    });
  }

  /** Serving starts once this replica hears changes (or after a short wait if Redis is down). */
  async onModuleInit(): Promise<void> {
    await this.broadcast.ready();
  }

  /**
   * Applies the change here at once, then tells the other replicas. A write that committed is not
   * failed because Redis is down: the others then apply it when their cached copy expires (60 s).
   */
  async publish(event: AuthEvent): Promise<void> {
    this.deliver(event);
    await this.broadcast.publish(event, 'Could not announce an auth change; other replicas apply it within 60 s');
  }

  onModuleDestroy(): void {
    this.broadcast.close();
  }
}

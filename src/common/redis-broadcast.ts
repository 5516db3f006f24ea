import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { withTimeout } from './timeout';

/** How long the start waits for the subscription, and a publish for Redis. */
export const REDIS_WAIT_MS = 2_000;
const OUTAGE_LOG_INTERVAL_MS = 30_000;

export interface BroadcastHandlers<T> {
  /** A message another replica published (never this replica's own). */
  message(event: T): void;
  /**
   * The subscription came back after a disconnect: whatever was published meanwhile is lost, so
   * the receiver drops what it may hold stale.
   */
  resubscribed(): void;
}

/**
 * One Redis pub/sub channel shared by every replica: each publishes what it changed and hears what
 * the others changed. A replica's own messages carry its origin and are not handed back to it (it
 * applied them before publishing), so nothing is applied twice and nothing heard is re-published.
 * Redis pub/sub delivers at most once: a replica disconnected at the time misses the message and
 * is told so by `resubscribed` when it is back.
 */
export class RedisBroadcast<T> {
  private readonly logger: Logger;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  /** Marks this replica's own messages. */
  private readonly origin = randomUUID();
  private subscribedOnce = false;
  private readonly subscribed: Promise<unknown>;
  private lastOutageLog = 0;

  constructor(
    url: string,
    private readonly channel: string,
    /** What travels on the channel, for log lines ("auth events"). */
    private readonly what: string,
    handlers: BroadcastHandlers<T>,
  ) {
    this.logger = new Logger(`RedisBroadcast(${what})`);
    const options = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error: Error) => this.outage(`Redis error on ${what}`, error));
    }
    this.subscribed = this.subscriber
      .subscribe(this.channel)
      .catch((error: Error) => this.outage(`Cannot subscribe to ${what} yet (Redis resubscribes when back)`, error));
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) handlers.resubscribed();
      this.subscribedOnce = true;
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const parsed = envelope<T>(message);
      if (!parsed) this.logger.warn(`Ignored a malformed message on ${what}`);
      else if (parsed.origin !== this.origin) handlers.message(parsed.event);
    });
  }

  /** Resolves once this replica hears the channel, or after REDIS_WAIT_MS if Redis is down. */
  async ready(): Promise<void> {
    await Promise.race([this.subscribed, new Promise((resolve) => setTimeout(resolve, REDIS_WAIT_MS).unref())]);
  }

  /**
   * Tells the other replicas. Never throws: a write that committed is not failed because Redis is
   * down; `unheard` is logged (rate-limited) and says what the others do instead.
   */
  async publish(event: T, unheard: string): Promise<void> {
    const message = JSON.stringify({ origin: this.origin, event });
    try {
      await withTimeout(
        this.publisher.publish(this.channel, message),
        REDIS_WAIT_MS,
        () => new Error('publish timed out'),
      );
    } catch (error) {
      this.outage(unheard, error as Error);
    }
  }

  /** Logs a Redis problem at most once per interval (reconnect attempts would flood the log). */
  private outage(msg: string, error: Error): void {
    const now = Date.now();
    if (now - this.lastOutageLog < OUTAGE_LOG_INTERVAL_MS) return;
    this.lastOutageLog = now;
    this.logger.warn({ msg, err: error.message });
  }

  close(): void {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}

/** `{origin, event}` as published, or undefined for anything else on the channel. */
function envelope<T>(message: string): { origin: string; event: T } | undefined {
  try {
    const parsed = JSON.parse(message) as { origin?: unknown; event?: unknown } | null;
    if (typeof parsed?.origin !== 'string' || typeof parsed.event !== 'object' || parsed.event === null)
      return undefined;
    return parsed as { origin: string; event: T };
  } catch {
    return undefined;
  }
}

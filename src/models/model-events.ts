import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RedisBroadcast } from '../common/redis-broadcast';

/** The event name listeners subscribe to: `@OnEvent(MODEL_CHANGED)`. */
export const MODEL_CHANGED = 'model.changed';

/**
 * Emitted here when `model.changed` messages may have been missed (the Redis subscription came back
 * after a disconnect): what is remembered of any model may be stale.
 */
export const MODELS_RESYNC = 'model.resync';

export type ModelChangeKind =
  | 'created'
  | 'updated'
  | 'version-added'
  | 'version-updated'
  | 'version-deleted'
  | 'alias-changed'
  | 'traffic-changed'
  | 'deleted'
  | 'cache-cleared';

/**
 * What the registry announces after each committed write. The registry does not know who
 * listens: the resolution cache forgets what it resolved, the prediction cache starts a new
 * generation of the model's entries (shared by every replica) or drops it for a deleted model,
 * and the engine releases sessions nothing uses any more.
 */
export interface ModelChangedEvent {
  /** The model's name. */
  model: string;
  kind: ModelChangeKind;
  /**
   * Whether what a prediction of the model resolves to, or may be answered with, changed: its
   * versions, its cache, batching or payload-logging settings, its cached answers. False for a
   * new model and for a change of description or tags only.
   */
  servingChanged: boolean;
  /** The sha256 of each artifact that no version uses any more (deletes only). */
  released: string[];
  /**
   * Set when another replica made the write and this one heard of it over Redis. What that
   * replica already changed in shared state (the cache generation in Redis) is not changed again.
   */
  fromReplica?: true;
}

/**
 * Publishes `model.changed` and waits until every listener of this process is done, so a write
 * answers only once the caches and the engine here reacted (and the shared cache generation moved,
 * which every replica reads). Listeners report their own failures: @nestjs/event-emitter logs what
 * one throws, and the write that committed still succeeds.
 */
export abstract class ModelEvents {
  constructor(protected readonly emitter: EventEmitter2) {}

  abstract changed(event: ModelChangedEvent): Promise<void>;

  protected async emit(event: ModelChangedEvent): Promise<void> {
    await this.emitter.emitAsync(MODEL_CHANGED, event);
  }
}

/** One process (no REDIS_URL): the listeners here are all there are. */
export class LocalModelEvents extends ModelEvents {
  changed(event: ModelChangedEvent): Promise<void> {
    return this.emit(event);
  }
}

/**
 * With REDIS_URL, every replica hears every write (RedisBroadcast): its resolution cache forgets
 * the model, its engine unloads released artifacts, and what an alias, traffic or settings change
 * resolves to applies at once rather than at the next cache generation read. A replica applies its
 * own writes before publishing and never re-publishes what it heard.
 */
export class RedisModelEvents extends ModelEvents implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RedisModelEvents.name);
  private readonly broadcast: RedisBroadcast<ModelChangedEvent>;

  constructor(emitter: EventEmitter2, url: string, channel: string) {
    super(emitter);
    this.broadcast = new RedisBroadcast<ModelChangedEvent>(url, channel, 'model events', {
      message: (event) => this.heard(event),
      resubscribed: () => this.emitter.emit(MODELS_RESYNC),
    });
  }

  /** Serving starts once this replica hears writes (or after a short wait if Redis is down). */
  async onModuleInit(): Promise<void> {
    await this.broadcast.ready();
  }

  /** Another replica's write: applied here by the same listeners, marked as heard. */
  private heard(event: ModelChangedEvent): void {
    if (!isModelChangedEvent(event)) {
      this.logger.warn('Ignored a malformed model change heard on Redis');
      return;
    }
    this.emit({ ...event, fromReplica: true }).catch((error: Error) =>
      this.logger.warn({ msg: 'a listener failed on a model change heard from another replica', err: error.message }),
    );
  }

  async changed(event: ModelChangedEvent): Promise<void> {
    await this.emit(event);
    await this.broadcast.publish(
      event,
      'Could not announce a model change; other replicas follow it at their next cache generation read',
    );
  }

  onModuleDestroy(): void {
    this.broadcast.close();
  }
}

/** The fields listeners read, checked on what arrives over Redis (another version may have sent it). */
function isModelChangedEvent(value: unknown): value is ModelChangedEvent {
  const event = value as Partial<ModelChangedEvent> | null;
  return (
    typeof event === 'object' &&
    event !== null &&
    typeof event.model === 'string' &&
    typeof event.kind === 'string' &&
    typeof event.servingChanged === 'boolean' &&
    Array.isArray(event.released) &&
    event.released.every((sha) => typeof sha === 'string')
  );
}

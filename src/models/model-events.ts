import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';

/** The event name listeners subscribe to: `@OnEvent(MODEL_CHANGED)`. */
export const MODEL_CHANGED = 'model.changed';

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
}

/**
 * Publishes `model.changed` and waits until every listener is done, so a write answers only once
 * the caches (here, and through the shared generation on every replica) and the engine reacted.
 * Listeners report their own failures: @nestjs/event-emitter logs what one throws, and the write
 * that committed still succeeds.
 */
@Injectable()
export class ModelEvents {
  constructor(private readonly emitter: EventEmitter2) {}

  async changed(event: ModelChangedEvent): Promise<void> {
    await this.emitter.emitAsync(MODEL_CHANGED, event);
  }
}

import { boundedName } from '../common/bounded-text';
import { ForbiddenError } from '../common/errors';
import type { Caller } from './caller';
import { mayTouchModel } from './model-patterns';

/** For OpenAPI descriptions: how a key scoped to model patterns is treated. */
export const MODEL_SCOPE_RULE =
  'A key scoped to model-name patterns gets 403 for any other model, whether or not it exists.';

/**
 * Refuses (403) a credential whose model patterns do not cover `name`. Services call it before
 * they look the model up, so a scoped credential gets the same answer for a model outside its
 * scope whether or not that model exists: it learns nothing about models it may not touch.
 */
export function assertModelInScope(caller: Caller, name: string): void {
  if (mayTouchModel(caller.principal.models, name)) return;
  throw new ForbiddenError(
    `This credential may not use the model '${boundedName(name)}': its key is limited to other models`,
  );
}

/** Whether a row of model `name` (null: a row that names none) is visible to the caller. */
export function modelVisibleTo(caller: Caller, name: string | null): boolean {
  if (caller.principal.models === null) return true;
  return name !== null && mayTouchModel(caller.principal.models, name);
}

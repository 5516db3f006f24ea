import { ErrorDetail, InvalidInputError } from '../common/errors';
import { batchingObstacle } from '../jobs/batching';
import type { ModelVersionEntity } from './entities/model-version.entity';

/**
 * Dynamic batching of one model, with Triton's semantics: requests of the same version whose
 * inputs share their trailing shapes are stacked along dimension 0 into one run of up to
 * `maxBatchSize` rows. A batch short of that (and of every preferred size) waits at most
 * `maxQueueDelayMs` for more; 0 batches only requests that are already waiting.
 */
export interface BatchingSettings {
  enabled: boolean;
  maxBatchSize: number;
  maxQueueDelayMs: number;
  preferredBatchSizes: number[];
}

/** What a model that never set batching gets. The delay is Triton's default: no added latency. */
export const BATCHING_DEFAULTS = Object.freeze({
  enabled: false,
  maxBatchSize: 8,
  maxQueueDelayMs: 0,
  preferredBatchSizes: Object.freeze<number[]>([]),
});

export const BATCHING_LIMITS = {
  /** A batch of 1 is no batch: turn batching off instead. */
  minBatchSize: 2,
  maxBatchSize: 1024,
  maxQueueDelayMs: 1000,
  maxPreferredSizes: 16,
} as const;

/** How the batching of a model that has a version that cannot batch behaves; for the OpenAPI text. */
export const BATCHING_VERSION_RULE =
  'Turning batching on (enabled: true) needs every version of the model that is not failed to batch: each input ' +
  'and output has a dynamic first dimension (-1) and, where these are named, one shared name; otherwise 400 names ' +
  'the version and tensor, and nothing changes. A version uploaded later that cannot batch is still accepted; the ' +
  'engine does not batch its requests (they run one by one).';

/**
 * The settings after a change: given fields replace the current ones, the others stay. The
 * result is validated as a whole (a preferred size above the new maxBatchSize is refused) and
 * stored whole, so it never depends on later changes to the defaults.
 */
export function mergeBatching(current: BatchingSettings, change: Partial<BatchingSettings>): BatchingSettings {
  const merged: BatchingSettings = {
    enabled: change.enabled ?? current.enabled,
    maxBatchSize: change.maxBatchSize ?? current.maxBatchSize,
    maxQueueDelayMs: change.maxQueueDelayMs ?? current.maxQueueDelayMs,
    preferredBatchSizes: [...(change.preferredBatchSizes ?? current.preferredBatchSizes)].sort((a, b) => a - b),
  };
  const tooLarge = merged.preferredBatchSizes.filter((size) => size > merged.maxBatchSize);
  if (tooLarge.length > 0) {
    const problem =
      `batching.preferredBatchSizes ${tooLarge.join(', ')} exceed${tooLarge.length === 1 ? 's' : ''} ` +
      `maxBatchSize ${merged.maxBatchSize}; send sizes from ${BATCHING_LIMITS.minBatchSize} to maxBatchSize ` +
      '(or a larger maxBatchSize with them)';
    throw new InvalidInputError(problem, [{ field: 'batching.preferredBatchSizes', problem }]);
  }
  return merged;
}

/** Refuses batching for a model one of whose versions cannot batch, naming every such version. */
export function assertVersionsBatch(
  model: string,
  versions: readonly Pick<ModelVersionEntity, 'version' | 'status' | 'inputs' | 'outputs'>[],
): void {
  const details: ErrorDetail[] = [];
  for (const version of [...versions].sort((a, b) => a.version - b.version)) {
    if (version.status === 'failed') continue;
    const obstacle = batchingObstacle(version.inputs, version.outputs);
    if (obstacle) details.push({ field: 'batching.enabled', problem: `version ${version.version}: ${obstacle}` });
  }
  if (details.length === 0) return;
  const more = details.length > 1 ? ` (and ${details.length - 1} more version(s), see details)` : '';
  throw new InvalidInputError(
    `Batching cannot be enabled for '${model}': ${details[0].problem}${more}. Every input and output of every ` +
      'version needs a dynamic first dimension (-1) to stack requests along it; delete such versions or leave ' +
      'batching off',
    details,
  );
}

import { Injectable } from '@nestjs/common';
import { InvalidInputError, TooManyRequestsError } from '../common/errors';
import { internalDetail, SafeError, toSafeError } from '../common/safe-error';
import { AppConfig } from '../config/app-config';
import { OutputTooLargeError } from '../inference/engine-errors';
import { deadlineIn, InferenceService, ServableModel } from '../inference/inference.service';
import type { TensorData } from '../inference/tensor';
import type { TensorSpec } from '../inference/tensor-spec';
import { BatchGroup, canBatch, groupForBatching, PreparedInstance, stack } from './batching';

/**
 * What one instance produced: its outputs as the JSON a prediction returns, or why it failed (in
 * its client-safe form, with the raw text for the server log in `internal`).
 */
export type InstanceOutcome =
  | { index: number; outputs: string; error?: undefined; internal?: undefined }
  | { index: number; outputs?: undefined; error: SafeError; internal?: string };

export interface ChunkModel extends ServableModel {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** Longest wait for a slot when synchronous predictions fill the model's queue (429). */
const BUSY_WAIT_MS = 250;

/** Failures that belong to one instance (the job goes on); anything else fails the chunk. */
function isInstanceFailure(error: unknown): boolean {
  return error instanceof InvalidInputError || error instanceof OutputTooLargeError;
}

/** Runs `work` on at most `limit` items at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(lanes);
}

/**
 * Runs one chunk of a job through the InferenceService the synchronous path uses. Instances are
 * stacked into batches where the signature allows it (see batching.ts), spread over the inference
 * workers; an instance that ONNX Runtime rejects gets its own error, and a batch that fails is
 * re-run one instance at a time so the error lands on the instance that caused it. Any other
 * failure (a worker crash, a timeout) fails the whole chunk: the attempt is retried from here.
 * Outputs come back already encoded as JSON: the worker serializes them, not this thread.
 */
@Injectable()
export class ChunkExecutor {
  constructor(
    private readonly inference: InferenceService,
    private readonly config: AppConfig,
  ) {}

  async run(model: ChunkModel, instances: readonly PreparedInstance[], deadline: number): Promise<InstanceOutcome[]> {
    const outcomes: InstanceOutcome[] = [];
    const lanes = this.config.inference.workers;
    let groups: BatchGroup[] = [];
    let singles: readonly PreparedInstance[] = instances;
    if (canBatch(model.inputs, model.outputs)) {
      // Enough batches to keep every worker busy, each within the tensor size limit.
      const perBatch = Math.max(2, Math.ceil(instances.length / lanes));
      ({ groups, singles } = groupForBatching(
        instances,
        model.inputs,
        this.config.inference.maxTensorElements,
        perBatch,
      ));
    }
    const work: (BatchGroup | PreparedInstance)[] = [...groups, ...singles];
    await eachLimited(work, lanes, async (item) => {
      if ('members' in item) outcomes.push(...(await this.runBatch(model, item, deadline)));
      else outcomes.push(await this.runSingle(model, item, deadline));
    });
    return outcomes.sort((a, b) => a.index - b.index);
  }

  private async runBatch(model: ChunkModel, group: BatchGroup, deadline: number): Promise<InstanceOutcome[]> {
    let parts: string[] | null = null;
    try {
      parts = await this.runWhenFree(model, stack(group, model.inputs), deadline, group.rows);
    } catch (error) {
      // One member's bad data, or outputs over the cap together: each member on its own.
      if (!isInstanceFailure(error)) throw error;
    }
    if (!parts) {
      const outcomes: InstanceOutcome[] = [];
      for (const member of group.members) outcomes.push(await this.runSingle(model, member, deadline));
      return outcomes;
    }
    return parts.map((outputs, i) => ({ index: group.members[i].index, outputs }));
  }

  private async runSingle(model: ChunkModel, instance: PreparedInstance, deadline: number): Promise<InstanceOutcome> {
    try {
      const encoded = await this.runWhenFree(model, instance.feeds, deadline);
      if (encoded?.length !== 1) throw new Error('a run of one instance must answer one encoded output');
      return { index: instance.index, outputs: encoded[0] };
    } catch (error) {
      if (!isInstanceFailure(error)) throw error;
      return {
        index: instance.index,
        error: toSafeError(error, `instance ${instance.index}`),
        internal: internalDetail(error),
      };
    }
  }

  /**
   * The outputs as JSON, one string per entry of `rows` (null when they do not split into them),
   * or one string. A job yields to synchronous traffic: when the model's queue is full it waits,
   * up to the deadline.
   */
  private async runWhenFree(
    model: ChunkModel,
    feeds: Record<string, TensorData>,
    deadline: number,
    rows?: number[],
  ): Promise<string[] | null> {
    for (;;) {
      try {
        return (await this.inference.runEncoded(model, feeds, rows, deadlineIn(this.config.inference.timeoutMs)))
          .outputs;
      } catch (error) {
        if (!(error instanceof TooManyRequestsError) || Date.now() + BUSY_WAIT_MS > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, BUSY_WAIT_MS));
      }
    }
  }
}

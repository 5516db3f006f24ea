import type { TensorSpec } from '../inference/tensor-spec';
import type { BatchingSettings } from './batching-settings';
import type { TrafficPolicy } from './traffic-policy';

/** The prediction cache settings that apply to a model: its own, else the configured defaults. */
export interface CacheSettings {
  enabled: boolean;
  ttlSeconds: number;
}

/**
 * What other features know of a registry version: everything needed to run it, cache its
 * answers and record its jobs, with the model's settings already resolved against the defaults.
 * The registry's read model, built by its mapper (`toServableVersion`); entities never leave
 * the registry.
 */
export interface ServableVersion {
  /** The model's row id and the version's: a job records both. */
  modelId: string;
  versionId: string;
  /** The model's name. */
  name: string;
  version: number;
  sha256: string;
  /** Where the ArtifactStore keeps the bytes; for the engine only, never in a response. */
  storageKey: string;
  sizeBytes: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  cache: CacheSettings;
  batching: BatchingSettings;
  logPayloads: boolean;
  /** The model's traffic policy, for requests that name no version; null: the latest ready version. */
  traffic: TrafficPolicy | null;
}

/** The API's shapes the dashboard reads (API.md, docs/api.md). */

export interface Model {
  id: string;
  name: string;
  description: string | null;
  tags: string[];
  latestVersion: number | null;
  aliases: Record<string, number>;
  cache?: { enabled: boolean; ttlSeconds: number } | null;
  logPayloads?: boolean;
  batching?: { enabled: boolean; maxBatchSize: number; maxQueueDelayMs: number; preferredBatchSizes?: number[] } | null;
  createdAt: string;
  updatedAt: string;
}

export interface TensorSpec {
  name: string;
  dtype: string;
  shape: number[];
  dimNames?: (string | null)[];
}

export interface ModelVersion {
  model: string;
  version: number;
  status: 'ready' | 'failed' | 'archived';
  description: string | null;
  sha256: string;
  sizeBytes: number;
  irVersion: number | null;
  opsetVersion: number | null;
  producerName: string | null;
  producerVersion: string | null;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  metadata?: Record<string, string | number>;
  createdAt: string;
}

export interface TrafficPolicy {
  split: { version: number | string; weight: number }[];
  sticky: { header: string } | null;
  shadow?: { version: number | string; percent: number } | null;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  sample: number;
}

export interface TrafficStats {
  model: string;
  minutes: number;
  since: string;
  tolerance: number;
  versions: { version: number; requests: number; errors: number; latencyMs: Percentiles | null }[];
  shadows: {
    version: number | null;
    mirrored: number;
    dropped: number;
    errors: number;
    compared: number;
    agreement: number | null;
    maxRelDiff: { mean: number; max: number } | null;
    latencyMs: Percentiles | null;
  }[];
}

export interface Job {
  id: string;
  model: string;
  version: number | null;
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  progress: { done: number; total: number; percent: number };
  attempts: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

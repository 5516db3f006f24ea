import type { TensorSpec } from '../../models/tensor-spec';
import type { TensorData } from '../tensor';

/** Settings every worker thread receives at start. */
export interface WorkerSettings {
  intraOpThreads: number;
  spinning: boolean;
}

export interface ModelRef {
  /** Content hash: sessions are shared by every version with the same bytes. */
  sha256: string;
  /** Server-generated local path of the model file. */
  path: string;
}

export type WorkerRequest =
  | { id: number; type: 'inspect'; model: ModelRef }
  | { id: number; type: 'load'; model: ModelRef }
  | { id: number; type: 'unload'; sha256: string }
  | { id: number; type: 'run'; model: ModelRef; feeds: Record<string, TensorData>; outputs?: string[] }
  /** Finish the work in progress, then end the thread; later requests are refused. */
  | { id: number; type: 'exit' };

export interface ModelInspection {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  warmupMs: number;
}

export interface RunResult {
  outputs: Record<string, TensorData>;
  inferenceMs: number;
  loadMs: number;
}

/** Why a model was refused, kept apart from engine failures so the service can answer 422. */
export interface WorkerFailure {
  kind: 'unprocessable' | 'invalid' | 'unavailable' | 'internal';
  message: string;
}

export type WorkerResponse =
  | { id: number; ok: true; result: ModelInspection | RunResult | null }
  | { id: number; ok: false; error: WorkerFailure };

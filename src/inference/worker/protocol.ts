import type { EncodedInstances, EncodeLimits } from '../../jobs/instance-encoder';
import type { TensorSpec } from '../../models/tensor-spec';
import type { TensorData } from '../tensor';

/** Settings every worker thread receives at start. */
export interface WorkerSettings {
  intraOpThreads: number;
  spinning: boolean;
  /** MAX_OUTPUT_ELEMENTS: checked right after each run, before outputs are copied or encoded. */
  maxOutputElements: number;
}

export interface ModelRef {
  /** Content hash: sessions are shared by every version with the same bytes. */
  sha256: string;
  /** Server-generated local path of the model file. */
  path: string;
}

export type WorkerRequest =
  /** Check, load and warm up an upload; the warm-up's synthetic inputs stay within `warmupMaxElements`. */
  | { id: number; type: 'inspect'; model: ModelRef; warmupMaxElements: number }
  | { id: number; type: 'load'; model: ModelRef }
  | { id: number; type: 'unload'; sha256: string }
  | { id: number; type: 'run'; model: ModelRef; feeds: Record<string, TensorData>; outputs?: string[] }
  /**
   * Run, then encode the outputs as JSON here, not on the HTTP thread (a job's chunk): one string
   * per entry of `rows` when the feeds are members stacked along dimension 0, else one string.
   */
  | { id: number; type: 'runEncoded'; model: ModelRef; feeds: Record<string, TensorData>; rows?: number[] }
  /** Parse and check a raw prediction body; the worker keeps it under `token` for `predict`. */
  | { id: number; type: 'parse'; token: number; body: Uint8Array }
  /** Check the parsed inputs against the signature, run, and encode the outputs as JSON. */
  | {
      id: number;
      type: 'predict';
      /** A body parsed by this worker earlier, or the parsed inputs themselves (small bodies). */
      token?: number;
      inputs?: Record<string, unknown>;
      model: ModelRef;
      signature: TensorSpec[];
      outputs?: string[];
      maxElements: number;
    }
  /** Validate and hash the inputs (cache lookup), keeping the decoded tensors under `token`. */
  | {
      id: number;
      type: 'prepare';
      token: number;
      inputs?: Record<string, unknown>;
      signature: TensorSpec[];
      maxElements: number;
    }
  /** Run tensors kept by `prepare` and encode the outputs. */
  | { id: number; type: 'execute'; token: number; model: ModelRef; outputs?: string[] }
  | { id: number; type: 'discard'; token: number }
  /** Parse a raw JSON job body; the worker keeps its instances under `token` for `encodeInstances`. */
  | { id: number; type: 'parseJob'; token: number; body: Uint8Array }
  /**
   * Check job instances against the signature and encode them for storage: the instances of a
   * body parsed by `parseJob` (then dropped), or a batch of raw NDJSON lines.
   */
  | {
      id: number;
      type: 'encodeInstances';
      source: { token: number } | NdjsonBatch;
      signature: TensorSpec[];
      limits: EncodeLimits;
    }
  /** Finish the work in progress, then end the thread; later requests are refused. */
  | { id: number; type: 'exit' };

/** Whole lines of an NDJSON upload, numbered within it (first line 1, first instance 0). */
export interface NdjsonBatch {
  lines: Uint8Array;
  firstLine: number;
  firstIndex: number;
}

/** The envelope of a job body parsed by `parseJob`. */
export interface ParsedJob {
  model: string;
  version?: number;
  /** Instances in the body. */
  count: number;
}

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

/** The outputs of a `runEncoded`, as JSON; null when they could not be split back into `rows`. */
export interface EncodedRun {
  outputs: string[] | null;
}

export interface ParsedRequest {
  model: string;
  version?: number;
  outputs?: string[];
  parseMs: number;
}

export interface PreparedInputs {
  inputHash: string;
  validateMs: number;
}

export interface PredictResult {
  /** The `outputs` object of the response, already serialized. */
  outputsJson: string;
  /** Canonical hash of the inputs (see tensor-hash.ts). */
  inputHash: string;
  validateMs: number;
  inferenceMs: number;
  encodeMs: number;
}

/** Why a model was refused, kept apart from engine failures so the service can answer 422. */
export interface WorkerFailure {
  kind:
    'unprocessable' | 'invalid' | 'inference_failed' | 'output_too_large' | 'too_large' | 'unavailable' | 'internal';
  message: string;
  details?: { field: string; problem: string }[];
  /** Raw text for the server log only (ONNX Runtime's message). */
  internal?: string;
}

export type WorkerResponse =
  | {
      id: number;
      ok: true;
      result:
        | ModelInspection
        | RunResult
        | EncodedRun
        | ParsedRequest
        | PreparedInputs
        | PredictResult
        | ParsedJob
        | EncodedInstances
        | null;
    }
  | { id: number; ok: false; error: WorkerFailure };

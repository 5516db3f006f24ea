import type { EncodedInstances, EncodeLimits } from '../../jobs/instance-encoder';
import type { OipInferRequest } from '../../oip/oip-types';
import type { TensorSpec } from '../tensor-spec';
import type { LooseInputs } from '../tensor-codec';
import type { RawTensor, TensorData } from '../tensor';
import type { TensorDtype } from '../tensor-spec';
import type { VersionRef } from '../../models/version-ref';

/** Settings every inference process receives at start. */
export interface ProcessSettings {
  intraOpThreads: number;
  spinning: boolean;
  /** MAX_OUTPUT_ELEMENTS: checked right after each run, before outputs are copied or encoded. */
  maxOutputElements: number;
}

/** The environment variable that carries ProcessSettings to an inference process, as JSON. */
export const SETTINGS_ENV = 'MODELFORGE_INFERENCE_SETTINGS';

export interface ModelRef {
  /** Content hash: sessions are shared by every version with the same bytes. */
  sha256: string;
  /** Server-generated local path of the model file. */
  path: string;
}

/**
 * What the HTTP process asks an inference process. The protocol is stateless: no message refers
 * to an earlier one, so any process can take any message and nothing is left behind in a process
 * when a request ends early (a timeout, a refusal, a crash).
 */
export type EngineRequest =
  /** Check, load and warm up an upload; the warm-up's synthetic inputs stay within `warmupMaxElements`. */
  | { id: number; type: 'inspect'; model: ModelRef; warmupMaxElements: number }
  | { id: number; type: 'load'; model: ModelRef }
  | { id: number; type: 'unload'; sha256: string }
  /** Parse a large prediction body and read its inputs (the version is not known yet). */
  | { id: number; type: 'decode'; body: Uint8Array; maxElements: number }
  /**
   * Run a model and encode its outputs as JSON: one string per entry of `rows` when the feeds
   * stack that many requests' rows along dimension 0, else one string. With `signature`, the
   * feeds are inputs read by `decode` or on the HTTP side (LooseInputs) and are checked here.
   * With `rawOutputs`, each output comes back as raw bytes instead (RawOutput); feeds may then be
   * RawTensors, checked on the HTTP side.
   */
  | {
      id: number;
      type: 'run';
      model: ModelRef;
      feeds: LooseInputs | Record<string, TensorData | RawTensor>;
      signature?: TensorSpec[];
      outputs?: string[];
      rows?: number[];
      rawOutputs?: RawOutputForm;
    }
  /** Read a large Open Inference Protocol infer body (JSON, or JSON then binary tensors). */
  | { id: number; type: 'decodeOip'; body: Uint8Array; headerLength?: string; maxElements: number }
  /** Parse a raw JSON job body for its envelope (the target and the instance count). */
  | { id: number; type: 'parseJob'; body: Uint8Array }
  /** Check job instances against the signature and encode them for storage: a whole body, or NDJSON lines. */
  | {
      id: number;
      type: 'encodeInstances';
      source: { body: Uint8Array } | NdjsonBatch;
      signature: TensorSpec[];
      limits: EncodeLimits;
    }
  /** Finish the work in progress, then exit. */
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
  version?: VersionRef;
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

/** A prediction body read by `decode` (or on the HTTP side, for small bodies). */
export interface DecodedRequest {
  model: string;
  /** A version number or an alias name. */
  version?: VersionRef;
  outputs?: string[];
  inputs: LooseInputs;
  /** Canonical hash of the inputs (see tensor-hash.ts). */
  inputHash: string;
  parseMs: number;
  /** Reading the inputs and hashing them. */
  readMs: number;
}

/** Outputs answered as raw bytes (the Open Inference Protocol's form). */
export interface RawOutputForm {
  /** Outputs whose `data` is also rendered as JSON text (the rest go out as binary). */
  json: string[];
}

/** One output as raw bytes: little-endian elements; strings as a 4-byte length then UTF-8 bytes each. */
export interface RawOutput {
  name: string;
  dtype: TensorDtype;
  dims: number[];
  raw: Uint8Array;
  /** The flat `data` array as JSON text, for outputs named in RawOutputForm.json. */
  json?: string;
}

/** One request's outputs: the `outputs` object as JSON text, or each output raw (with `rawOutputs`). */
export type EncodedOutputs = string | RawOutput[];

/** A `run`'s outputs, one entry per request; null when they could not be split back into `rows`. */
export interface RunOutcome<T extends EncodedOutputs = string> {
  outputs: T[] | null;
  validateMs: number;
  inferenceMs: number;
  encodeMs: number;
}

/** Why a request failed in the process, kept apart from engine failures so the service can answer 4xx. */
export interface EngineFailure {
  kind:
    'unprocessable' | 'invalid' | 'inference_failed' | 'output_too_large' | 'too_large' | 'unavailable' | 'internal';
  message: string;
  details?: { field: string; problem: string }[];
  /** Raw text for the server log only (ONNX Runtime's message). */
  internal?: string;
}

export type EngineResult =
  ModelInspection | DecodedRequest | OipInferRequest | RunOutcome<EncodedOutputs> | ParsedJob | EncodedInstances | null;

export type EngineResponse =
  | { id: number; ok: true; result: EngineResult }
  | { id: number; ok: false; error: EngineFailure }
  /** Sent once, when ONNX Runtime is loaded and the process takes requests. */
  | { id: 0; ready: true };

import { ErrorDetail, InvalidInputError, TimeoutError, UnprocessableError } from '../common/errors';
import type { RefinedError } from '../common/safe-error';

/**
 * ONNX Runtime failed on inputs that passed the signature check (a reshape the data does not fit,
 * say): 400 with a message of our own. ONNX Runtime's text names source files and C++ internals,
 * so it stays in `internal`, for the server log.
 */
export class InferenceFailedError extends InvalidInputError implements RefinedError {
  readonly refinedKind = 'inference_failed';

  constructor(
    message: string,
    readonly internal: string,
  ) {
    super(message);
  }
}

/** The outputs a request asked for hold more than MAX_OUTPUT_ELEMENTS elements (422). */
export class OutputTooLargeError extends UnprocessableError implements RefinedError {
  readonly refinedKind = 'output_too_large';

  constructor(message: string, details?: ErrorDetail[]) {
    super(message, details);
  }
}

/** "… while running Reshape node. Name:'/model/Reshape_1' Status Message: …" */
const FAILED_NODE = /while running ([A-Za-z0-9_]{1,64}) node\. Name:'([^']{1,1000})'/;
const MAX_NODE_NAME_CHARS = 64;
/** Raw text kept for the log: ONNX Runtime's messages are a few hundred characters. */
const MAX_INTERNAL_CHARS = 4000;

/**
 * The client-safe form of an ONNX Runtime run failure: a fixed message, plus the failing node and
 * its operator when the text names them (the node name cut to 64 characters of a plain alphabet).
 */
export function inferenceFailure(raw: string): InferenceFailedError {
  const text = raw.slice(0, MAX_INTERNAL_CHARS);
  const node = FAILED_NODE.exec(text);
  const where = node
    ? ` at node '${node[2].replace(/[^A-Za-z0-9_./:-]/g, '_').slice(0, MAX_NODE_NAME_CHARS)}' (${node[1]})`
    : '';
  return new InferenceFailedError(
    `ONNX Runtime rejected the inputs${where}; check their values and shapes against the model`,
    text,
  );
}

/**
 * A 504 for work that reached its deadline still waiting for a process: it never ran. A shadow run
 * that ends so was starved by served work (a background lane) and counts as dropped, not as a
 * failure of the shadow version.
 */
export class NotStartedError extends TimeoutError {}

/** The model cannot be served (answers 422). */
export class UnprocessableModel extends Error {}

/** The request's state is gone from this worker (restarted, expired): retry it (answers 503). */
export class WorkerUnavailable extends Error {}

/** The model's bytes failed a check made before ONNX Runtime sees them (answers 422). */
export class ModelRejection extends Error {
  override name = 'ModelRejection';
}

// Why `fluxora serve` could not load its model, as the machine-readable
// reason that starts the one line of the termination log (the operator
// turns it into the Model's ServingFailed message). Kept free of
// onnxruntime and the storage backends: the primary process of a
// multi-worker pod (pod.ts) loads no model and imports this alone.
import { isStorageError } from '../storage/errors.js';

/**
 * The artifact's bytes are not a model onnxruntime can load (a wrong file, a
 * truncated upload): fixing the artifact is the only remedy, so the message
 * says what the bytes are instead of passing on onnxruntime's "protobuf
 * parsing failed" alone.
 */
export class InvalidModelError extends Error {
  override readonly name = 'InvalidModelError';
}

/** The Model's features fit neither the ONNX model's inputs nor the columns of its one 2-D input. */
export class FeatureMismatchError extends Error {}

/** A worker of a multi-worker pod could not load its model; it named the reason. */
export class WorkerLoadError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A machine-readable cause, as the storage codes (NotFound, AccessDenied, ...) the operator uses for condition reasons. */
export function loadFailureReason(e: unknown): string {
  if (e instanceof WorkerLoadError) return e.reason;
  if (isStorageError(e)) return e.code;
  if (e instanceof InvalidModelError) return 'InvalidModel';
  if (e instanceof FeatureMismatchError) return 'FeatureMismatch';
  return 'LoadFailed';
}

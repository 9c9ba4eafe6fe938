// The built-in trainer's exit codes. They are part of the contract between
// `fluxora train` and the trainer Job the operator builds: the Job's
// podFailurePolicy fails the run at once on the codes that a retry cannot
// fix, instead of starting backoffLimit more pods that read the same input.

/** The store was unreachable, or something unexpected failed: a retry may succeed. */
export const EXIT_RETRYABLE = 1;
/** Bad flags or trainer configuration. */
export const EXIT_USAGE = 2;
/** Bad input: the data set, the served model, a URI, the credentials. */
export const EXIT_BAD_INPUT = 3;

/** Exit codes on which the trainer Job fails without retrying. */
export const PERMANENT_EXIT_CODES: readonly number[] = [EXIT_USAGE, EXIT_BAD_INPUT];

/**
 * `fluxora dataset-build` only (the trainer Job's init container when the
 * data set is the prediction log): the window holds fewer labelled rows than
 * dataset.predictionLog.minRows. A retry would find the same rows.
 */
export const EXIT_DATASET_TOO_SMALL = 4;

/** Exit codes on which the data set step fails the Job without retrying. */
export const DATASET_BUILD_PERMANENT_EXIT_CODES: readonly number[] = [EXIT_USAGE, EXIT_BAD_INPUT, EXIT_DATASET_TOO_SMALL];
